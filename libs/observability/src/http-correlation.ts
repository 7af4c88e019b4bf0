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

/** Set on a request once the middleware has put it in its correlation context. */
const IN_CONTEXT = Symbol('ragmesh.correlation');
type MarkedRequest = IncomingMessage & { [IN_CONTEXT]?: true };

/**
 * Reads (or makes) the correlation id, echoes it on the response, runs the rest of the request
 * inside it. Installed both in front of Express (health, metrics) and as Nest middleware: the
 * second pass for the same request finds it in context already and only continues.
 */
export function httpCorrelationMiddleware(req: MarkedRequest, res: ServerResponse, next: (err?: unknown) => void): void {
  if (req[IN_CONTEXT]) return next();
  req[IN_CONTEXT] = true;
  const id = resolveRequestCorrelationId(req);
  if (!res.headersSent) res.setHeader(CORRELATION_HEADER, id);
  runWithCorrelationId(id, () => next());
}
