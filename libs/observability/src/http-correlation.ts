import { IncomingMessage, ServerResponse } from 'node:http';
import { acceptCorrelationId, CORRELATION_HEADER, newCorrelationId, runWithCorrelationId } from './correlation';

/**
 * The request's correlation id: the caller's x-correlation-id when usable, else a new one.
 * It is written back onto the request headers so later middleware (pino-http) sees the same id.
 */
export function resolveRequestCorrelationId(req: IncomingMessage): string {
  const id = acceptCorrelationId(req.headers[CORRELATION_HEADER]) ?? newCorrelationId();
  req.headers[CORRELATION_HEADER] = id;
  return id;
}

/** Reads (or makes) the correlation id, echoes it on the response, runs the rest of the request inside it. */
export function httpCorrelationMiddleware(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
  const id = resolveRequestCorrelationId(req);
  if (!res.headersSent) res.setHeader(CORRELATION_HEADER, id);
  runWithCorrelationId(id, () => next());
}
