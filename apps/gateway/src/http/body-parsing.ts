import { HttpStatus } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ApiError, ValidationFailed } from './api-error';

interface BodyParserError {
  type: string;
  status: number;
  message: string;
  limit?: number;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { type?: unknown }).type === 'string' &&
    typeof (err as { status?: unknown }).status === 'number'
  );
}

/**
 * Express error middleware placed right after the body parser: a malformed or oversized body
 * is the client's mistake and gets a 4xx in the envelope instead of Nest's generic handling.
 */
export function bodyParserErrorTranslator(err: unknown, _req: Request, _res: Response, next: NextFunction): void {
  if (!isBodyParserError(err)) return next(err);
  switch (err.type) {
    case 'entity.parse.failed':
      return next(new ValidationFailed([{ field: 'body', reason: `malformed JSON: ${err.message}` }]));
    case 'entity.too.large':
      return next(new ApiError(HttpStatus.PAYLOAD_TOO_LARGE, `request body exceeds the limit of ${err.limit ?? '?'} bytes`));
    default:
      return next(new ApiError(err.status >= 400 && err.status < 500 ? err.status : HttpStatus.BAD_REQUEST, err.message));
  }
}
