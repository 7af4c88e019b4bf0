import { HttpException, HttpStatus } from '@nestjs/common';
import type { FieldError } from './envelope';

/** An error the client caused or must know about; rendered as the envelope with `data`. */
export class ApiError extends HttpException {
  constructor(
    status: HttpStatus,
    message: string,
    readonly data: unknown = null,
  ) {
    super(message, status);
  }
}

export class ValidationFailed extends ApiError {
  constructor(readonly errors: FieldError[]) {
    super(HttpStatus.BAD_REQUEST, 'validation failed', { errors });
  }
}

export class NotFound extends ApiError {
  constructor(message: string) {
    super(HttpStatus.NOT_FOUND, message);
  }
}
