import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { HttpStatus } from '@nestjs/common';
import { json, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ApiError, ValidationFailed } from './api-error';

/** No request of this API nests deeper; deeper JSON is refused before it reaches a schema, the database or a log line. */
export const MAX_JSON_DEPTH = 32;

const INVALID_UTF8 = 'encoding.invalid.utf8';
const TOO_DEEP = 'entity.too.deep';

class BodyRejected extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** Deepest array/object nesting of a JSON text, counted on the raw bytes (strings skipped). */
export function jsonDepth(buf: Buffer): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

function verifyBody(_req: IncomingMessage, _res: unknown, buf: Buffer): void {
  if (!isUtf8(buf)) throw new BodyRejected(INVALID_UTF8, 'request body is not valid UTF-8');
  if (jsonDepth(buf) > MAX_JSON_DEPTH) throw new BodyRejected(TOO_DEEP, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
}

const NUL_REASON = 'must not contain NUL characters (\\u0000)';

/** PostgreSQL text cannot hold U+0000: a string carrying one is refused here instead of failing an INSERT later. */
function refuseNul(_key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.includes('\u0000')) throw new SyntaxError(NUL_REASON);
  return value;
}

/** express.json with a size limit, UTF-8, nesting and NUL checks; its errors go through bodyParserErrorTranslator. */
export function jsonBody(limit: string): RequestHandler {
  return json({ limit, verify: verifyBody, reviver: refuseNul });
}

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
      if (err.message.includes(NUL_REASON)) return next(new ValidationFailed([{ field: 'body', reason: `strings ${NUL_REASON}` }]));
      return next(new ValidationFailed([{ field: 'body', reason: `malformed JSON: ${err.message}` }]));
    case INVALID_UTF8:
      return next(new ValidationFailed([{ field: 'body', reason: 'is not valid UTF-8' }]));
    case TOO_DEEP:
      return next(new ValidationFailed([{ field: 'body', reason: `is nested deeper than ${MAX_JSON_DEPTH} levels` }]));
    case 'entity.too.large':
      return next(new ApiError(HttpStatus.PAYLOAD_TOO_LARGE, `request body exceeds the limit of ${err.limit ?? '?'} bytes`));
    default:
      return next(new ApiError(err.status >= 400 && err.status < 500 ? err.status : HttpStatus.BAD_REQUEST, err.message));
  }
}
