import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { type AllowList, checkAddress, isHostAllowListed, parseAllowList, unbracket } from './address-policy';
import { OutboundError } from './errors';

const IDLE_SOCKET_MS = 30_000;
const MAX_IDLE_SOCKETS_PER_HOST = 16;

export const DEFAULT_OUTBOUND_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_REDIRECTS = 3;

export interface OutboundPolicy {
  /** Hosts and CIDRs reachable although not public (see parseAllowList); empty = public internet only. */
  allow?: AllowList | string | readonly string[];
  /** Cap on a whole request: DNS, connect, every redirect hop and the response body. */
  timeoutMs?: number;
  /** Cap on the response body read; a bigger body fails with RESPONSE_TOO_LARGE. */
  maxResponseBytes?: number;
  /** Cap on redirects followed (each target checked again); 0 returns the 3xx response as is. */
  maxRedirects?: number;
}

export type OutboundMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface OutboundRequest {
  url: string;
  method?: OutboundMethod;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Lower the client's caps for this request (never raise them). */
  timeoutMs?: number;
  maxResponseBytes?: number;
  maxRedirects?: number;
  signal?: AbortSignal;
}

export interface OutboundResponse {
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  /** The URL that answered (differs from the request's after redirects). */
  url: string;
  /** Every redirect target followed, in order. */
  redirects: string[];
}

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Fetch's rule: credentials are not carried to another origin. */
const CROSS_ORIGIN_STRIPPED_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/** Sent when the caller names none: who is calling, for the receiver's logs. */
export const OUTBOUND_USER_AGENT = 'ragmesh-outbound';

/** A response whose body is not read yet. */
interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

interface Hop {
  url: URL;
  method: OutboundMethod;
  headers: Record<string, string>;
  body?: string | Buffer;
}

/**
 * The one HTTP client for URLs that users supply (callbacks, response_url, webhooks). Every connection
 * goes to an address checked by the agent's own DNS lookup — the address checked is the address
 * connected to, so DNS rebinding has no gap — and every redirect target is checked again.
 */
export class OutboundHttpClient {
  readonly allow: AllowList;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly maxRedirects: number;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(policy: OutboundPolicy = {}) {
    this.allow = typeof policy.allow === 'object' && 'hosts' in policy.allow ? policy.allow : parseAllowList(policy.allow);
    this.timeoutMs = policy.timeoutMs ?? DEFAULT_OUTBOUND_TIMEOUT_MS;
    this.maxResponseBytes = policy.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.maxRedirects = policy.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    const lookup = guardedLookup(this.allow);
    // Idle keep-alive sockets close after IDLE_SOCKET_MS (Node's agent destroys a free socket on its
    // timeout) and at most MAX_IDLE_SOCKETS_PER_HOST wait per host: callback hosts are many and
    // chosen by clients, so idle connections must not pile up.
    const agentOptions = { keepAlive: true, lookup, timeout: IDLE_SOCKET_MS, maxFreeSockets: MAX_IDLE_SOCKETS_PER_HOST };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
  }

  /** Throws OutboundError BAD_URL / BLOCKED_ADDRESS when `url` may not be requested; resolves the host to check it. */
  async assertAllowed(url: string): Promise<void> {
    const parsed = this.checkUrl(url);
    const host = unbracket(parsed.hostname);
    if (isIP(host) || isHostAllowListed(host, this.allow)) return;
    await new Promise<void>((resolve, reject) =>
      guardedLookup(this.allow)(host, { all: true }, (err) => (err ? reject(toOutboundError(err, url)) : resolve())),
    );
  }

  async request(req: OutboundRequest): Promise<OutboundResponse> {
    const timeoutMs = Math.min(req.timeoutMs ?? this.timeoutMs, this.timeoutMs);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const maxBytes = Math.min(req.maxResponseBytes ?? this.maxResponseBytes, this.maxResponseBytes);
    const maxRedirects = Math.min(req.maxRedirects ?? this.maxRedirects, this.maxRedirects);
    let hop: Hop = { url: this.checkUrl(req.url), method: req.method ?? 'GET', headers: { ...(req.headers ?? {}) }, body: req.body };
    const redirects: string[] = [];
    for (;;) {
      let response: Answer;
      try {
        response = await this.send(hop, signal);
      } catch (err) {
        throw timeout.aborted ? new OutboundError('TIMEOUT', `no complete answer within ${timeoutMs} ms`, hop.url.href) : toOutboundError(err, hop.url.href);
      }
      let next: Hop | undefined;
      try {
        next = maxRedirects > 0 ? this.redirectOf(hop, response) : undefined;
      } catch (err) {
        // A refused redirect: the answer's socket is not read on, so free it now rather than at the timeout.
        response.body.destroy();
        throw err;
      }
      if (!next) return this.readResponse(response, hop.url.href, redirects, maxBytes, timeout, timeoutMs);
      response.body.destroy();
      if (redirects.length >= maxRedirects) {
        throw new OutboundError('TOO_MANY_REDIRECTS', `more than ${maxRedirects} redirects`, hop.url.href);
      }
      redirects.push(next.url.href);
      hop = next;
    }
  }

  post(url: string, body: string | Buffer, headers: Record<string, string> = {}, opts: Omit<OutboundRequest, 'url' | 'method' | 'body' | 'headers'> = {}): Promise<OutboundResponse> {
    return this.request({ ...opts, url, method: 'POST', body, headers });
  }

  /** Closes idle keep-alive connections; the client stays usable. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  // node:http itself, not a client library: one callback is one request on a kept-alive socket,
  // and nothing is added between the guarded agent and the wire (no proxy from the environment,
  // no redirects followed behind our back, no decompression).
  private send(hop: Hop, signal: AbortSignal): Promise<Answer> {
    const body = typeof hop.body === 'string' ? Buffer.from(hop.body, 'utf8') : hop.body;
    const headers: Record<string, string> = { ...hop.headers };
    const names = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
    if (!names.has('user-agent')) headers['User-Agent'] = OUTBOUND_USER_AGENT;
    if (body && !names.has('content-length')) headers['Content-Length'] = String(body.length);
    const secure = hop.url.protocol === 'https:';
    return new Promise<Answer>((resolve, reject) => {
      const req = (secure ? https : http).request(
        hop.url,
        { method: hop.method, headers, agent: secure ? this.httpsAgent : this.httpAgent, signal },
        (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** The next hop when `response` is a redirect this client follows; undefined to hand it to the caller. */
  private redirectOf(hop: Hop, response: Answer): Hop | undefined {
    const location = response.headers.location;
    if (!REDIRECT_STATUSES.has(response.status) || typeof location !== 'string') return undefined;
    const keepsMethod = response.status === 307 || response.status === 308;
    // A 301/302/303 would turn a POST into a bodiless GET: the receiver would never see the payload.
    if (!keepsMethod && hop.method !== 'GET' && hop.method !== 'HEAD') return undefined;
    let target: URL;
    try {
      target = new URL(location, hop.url);
    } catch {
      throw new OutboundError('BAD_URL', `redirect to an invalid location "${location.slice(0, 200)}"`, hop.url.href);
    }
    if (hop.url.protocol === 'https:' && target.protocol === 'http:') {
      throw new OutboundError('BAD_URL', `redirect from https to http (${target.origin}) refused`, hop.url.href);
    }
    const url = this.checkUrl(target.href);
    const headers = { ...hop.headers };
    if (url.origin !== hop.url.origin) {
      for (const name of Object.keys(headers)) if (CROSS_ORIGIN_STRIPPED_HEADERS.includes(name.toLowerCase())) delete headers[name];
    }
    return { url, method: hop.method, headers, body: hop.body };
  }

  /** Scheme, credentials and literal IP hosts; names are checked when they resolve, at connect time. */
  private checkUrl(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new OutboundError('BAD_URL', 'not an absolute URL', raw);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OutboundError('BAD_URL', `scheme ${url.protocol} is not http or https`, raw);
    if (url.username || url.password) throw new OutboundError('BAD_URL', 'credentials in the URL are not allowed', raw);
    const host = unbracket(url.hostname);
    if (isIP(host)) {
      const verdict = checkAddress(host, this.allow);
      if (!verdict.allowed) throw blocked(host, host, verdict.range, raw);
    }
    return url;
  }

  private async readResponse(
    response: Answer,
    url: string,
    redirects: string[],
    maxBytes: number,
    timeout: AbortSignal,
    timeoutMs: number,
  ): Promise<OutboundResponse> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        size += buffer.length;
        if (size > maxBytes) {
          response.body.destroy();
          throw new OutboundError('RESPONSE_TOO_LARGE', `response body over ${maxBytes} bytes`, url);
        }
        chunks.push(buffer);
      }
    } catch (err) {
      if (err instanceof OutboundError) throw err;
      throw timeout.aborted ? new OutboundError('TIMEOUT', `no complete answer within ${timeoutMs} ms`, url) : toOutboundError(err, url);
    }
    return { status: response.status, headers: flattenHeaders(response.headers), body: Buffer.concat(chunks), url, redirects };
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A dns.lookup that refuses addresses outside the allowed ranges; any refused address fails the whole name. */
function guardedLookup(allow: AllowList): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number; hints?: number }, callback: LookupCallback) => {
    dnsLookup(hostname, { family: options.family, hints: options.hints, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      if (!isHostAllowListed(hostname, allow)) {
        for (const { address } of addresses) {
          const verdict = checkAddress(address, allow);
          if (!verdict.allowed) return callback(blocked(hostname, address, verdict.range), []);
        }
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} resolved to no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  }) as LookupFunction;
}

function blocked(host: string, address: string, range: string, url?: string): OutboundError {
  const what = host === address ? address : `${host} (${address})`;
  return new OutboundError('BLOCKED_ADDRESS', `${what} is in a ${range} range, not allowed for outbound requests`, url);
}

function toOutboundError(err: unknown, url: string): OutboundError {
  for (let cause: unknown = err; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof OutboundError) return cause.url ? cause : new OutboundError(cause.code, cause.message, url, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new OutboundError('NETWORK', message, url, { cause: err });
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || value === null) continue;
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return flat;
}
