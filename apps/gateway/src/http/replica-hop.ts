import { isServiceToken, SERVICE_TOKEN_METADATA_KEY } from '@ragmesh/contracts';
import type { IncomingHttpHeaders } from 'node:http';

/** Set on a resume one replica forwards to another (value: the forwarding replica): the receiver serves it itself, never forwards it again. */
export const FORWARDED_BY_HEADER = 'x-ragmesh-forwarded-by';
/** The hop's own credential: the mesh's service token (RAGMESH_SERVICE_TOKEN), in the header gRPC calls carry it in. */
export const REPLICA_TOKEN_HEADER = SERVICE_TOKEN_METADATA_KEY;

/** A stream resume: GET /v1/chat/stream/<id>, or POST /v1/chat/stream with Last-Event-ID (what replicas forward). */
function isResume(req: HopRequest): boolean {
  if (req.method === 'GET') return req.path.startsWith('/v1/chat/stream/');
  return req.method === 'POST' && req.path === '/v1/chat/stream' && req.headers['last-event-id'] !== undefined;
}

export interface HopRequest {
  method: string;
  /** The path without the query. */
  path: string;
  headers: IncomingHttpHeaders;
}

/**
 * A resume another gateway replica forwarded, proven by the service token: that replica already
 * counted it against the key's budgets (and holds its stream slot while it relays the answer), so
 * this one does not count it again. The client's own key is still checked here. Without the token,
 * or on any other route, the marker only stops a second forward and the request counts as usual.
 */
export function isReplicaHop(req: HopRequest, token?: string): boolean {
  return req.headers[FORWARDED_BY_HEADER] !== undefined && isResume(req) && isServiceToken(req.headers[REPLICA_TOKEN_HEADER], token);
}
