import { Injectable } from '@nestjs/common';
import { CORRELATION_HEADER } from '@ragmesh/observability';
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { FORWARDED_BY_HEADER, REPLICA_TOKEN_HEADER } from '../http/replica-hop';

export { FORWARDED_BY_HEADER };

/** What of the client's request the owner needs: its key (the owner checks key and tenant), the resume point, the correlation id. */
export const FORWARDED_REQUEST_HEADERS = ['authorization', 'last-event-id', 'x-stream-id', 'accept', CORRELATION_HEADER] as const;
/** The owner answers a resume at once (headers go out before any event): longer means it is stuck or gone. */
export const FORWARD_ANSWER_TIMEOUT_MS = 5_000;
/** Headers about one connection, not the message (RFC 9110 §7.6.1): not copied from the owner's answer. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-authenticate', 'proxy-authorization']);

export interface ForwardRequest {
  /** The owner's GATEWAY_INTERNAL_URL. */
  baseUrl: string;
  method: string;
  /** Path and query exactly as the client sent them. */
  path: string;
  headers: IncomingHttpHeaders;
  /** This replica's id, sent in FORWARDED_BY_HEADER. */
  forwardedBy: string;
  /** The mesh's service token, sent in REPLICA_TOKEN_HEADER: the owner then does not count the request again. */
  serviceToken: string;
}

/** The owner gave no answer (nothing was sent to the client yet); `code` is the socket error's (ECONNREFUSED, ETIMEDOUT…). */
export class OwnerUnreachable extends Error {
  constructor(readonly code: string) {
    super(`the owning replica did not answer: ${code}`);
  }
}

/** Relays one resume to the replica holding the stream and pipes its answer back as it comes. */
export abstract class StreamForwarder {
  /**
   * Resolves when the owner's answer was relayed to its end, or either side left; rejects with
   * OwnerUnreachable when the owner did not answer (the client's response is untouched then).
   */
  abstract forward(request: ForwardRequest, res: ServerResponse): Promise<void>;
}

/** The forwarded request's headers: the allowed client headers plus the marker and the hop's token. */
export function forwardedHeaders(request: Pick<ForwardRequest, 'method' | 'headers' | 'forwardedBy' | 'serviceToken'>): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { [FORWARDED_BY_HEADER]: request.forwardedBy, [REPLICA_TOKEN_HEADER]: request.serviceToken };
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value: string | string[] | undefined = request.headers[name];
    if (value !== undefined) headers[name as string] = value;
  }
  // A resume's body is ignored: none is sent.
  if (request.method !== 'GET' && request.method !== 'HEAD') headers['content-length'] = '0';
  return headers;
}

@Injectable()
export class HttpStreamForwarder extends StreamForwarder {
  protected readonly answerTimeoutMs: number = FORWARD_ANSWER_TIMEOUT_MS;

  forward(request: ForwardRequest, res: ServerResponse): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let answered = false;
      let clientLeft = false;
      // A fresh connection per resume (agent: false): resumes are rare, and a pooled socket the owner
      // already closed would fail the request with a reset we would report as "owner unreachable".
      const outgoing = httpRequest(`${request.baseUrl}${request.path}`, { method: request.method, headers: forwardedHeaders(request), agent: false });
      const answerTimer = setTimeout(() => outgoing.destroy(new OwnerUnreachable('ETIMEDOUT')), this.answerTimeoutMs);
      const onClientClose = () => {
        if (answered) return;
        clientLeft = true;
        outgoing.destroy();
      };
      res.once('close', onClientClose);
      outgoing.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(answerTimer);
        // After the answer started, the pipeline below reports the cut.
        if (answered) return;
        if (clientLeft) return resolve();
        reject(err instanceof OwnerUnreachable ? err : new OwnerUnreachable(err.code ?? err.message));
      });
      outgoing.once('response', (incoming) => {
        answered = true;
        clearTimeout(answerTimer);
        res.off('close', onClientClose);
        for (const [name, value] of Object.entries(incoming.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) res.setHeader(name, value);
        }
        res.writeHead(incoming.statusCode ?? 502);
        res.flushHeaders();
        // Both ways: the owner's end ends the client's response; a client that leaves (or an owner
        // that dies) destroys the other side, so the owner sees its listener go and starts the grace period.
        pipeline(incoming, res, () => resolve());
      });
      outgoing.end();
    });
  }
}
