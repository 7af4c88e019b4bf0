import { HttpStatus } from '@nestjs/common';
import { CORRELATION_HEADER } from '@ragmesh/observability';
import type { NextFunction, Request, Response } from 'express';
import { failure } from './envelope';

/** A chat request answered as an event stream (the native stream, or `stream: true`). */
export const isStreamRequest = (req: Request): boolean =>
  req.path.endsWith('/stream') || (req.body as { stream?: unknown } | undefined)?.stream === true;

/** Once the 408 is out, the handler's late answer is dropped instead of throwing ERR_HTTP_HEADERS_SENT. */
function silenceLateWrites(res: Response): void {
  const noop = () => res;
  Object.assign(res, { status: noop, setHeader: noop, json: noop, send: noop, writeHead: noop, flushHeaders: () => undefined });
}

/** A non-streaming request still unanswered after `timeoutMs` gets 408 in the envelope (placed after body parsing). */
export function requestTimeout(timeoutMs: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    // Streams are bounded by the generation deadline and heartbeats, not by the request timeout.
    if (isStreamRequest(req)) return next();
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      const requestId = String(req.headers[CORRELATION_HEADER] ?? '');
      res.status(HttpStatus.REQUEST_TIMEOUT).json({ ...failure(`request not answered within ${timeoutMs} ms`, null), request_id: requestId });
      silenceLateWrites(res);
    }, timeoutMs);
    timer.unref();
    res.once('close', () => clearTimeout(timer));
    next();
  };
}
