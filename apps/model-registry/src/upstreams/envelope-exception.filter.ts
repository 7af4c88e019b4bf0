import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';

function isEnvelope(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'status' in value && 'message' in value && 'data' in value;
}

/** Every HTTP error leaves in the {status, message, data} envelope, never as Nest's default shape. */
@Catch()
export class EnvelopeExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(EnvelopeExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      const message = typeof body === 'string' ? body : exception.message;
      res.status(exception.getStatus()).json(isEnvelope(body) ? body : { status: 'error', message, data: null });
      return;
    }
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    res.status(HttpStatus.INTERNAL_SERVER_ERROR).json({ status: 'error', message: 'internal error', data: null });
  }
}
