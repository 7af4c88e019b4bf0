import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitUntil } from '@ragmesh/testing';
import { FORWARDED_BY_HEADER, HttpStreamForwarder, OwnerUnreachable, type StreamForwarder } from './stream-forwarder';

/*
 * Two real HTTP servers on loopback: the "owner" replica, scripted per test, and the "front"
 * replica, which hands every request to the forwarder. Proves what a resume on the wrong
 * replica gets: the owner's status, headers and body as they come, and a client that leaves
 * cancels the owner's request.
 */

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

class QuickForwarder extends HttpStreamForwarder {
  protected override readonly answerTimeoutMs = 300;
}

interface Front {
  url: string;
  /** What each forward() settled with: 'relayed', or the OwnerUnreachable code. */
  outcomes: string[];
}

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map(close));
  servers = [];
});

async function startOwner(handler: Handler): Promise<string> {
  const { server, url } = await listen(handler);
  servers.push(server);
  return url;
}

async function startFront(ownerUrl: string, forwarder: StreamForwarder = new HttpStreamForwarder()): Promise<Front> {
  const outcomes: string[] = [];
  const { server, url } = await listen((req, res) => {
    forwarder.forward({ baseUrl: ownerUrl, method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, forwardedBy: 'gw-front', serviceToken: 'mesh-token' }, res).then(
      () => outcomes.push('relayed'),
      (err: unknown) => {
        outcomes.push(err instanceof OwnerUnreachable ? err.code : `unexpected: ${String(err)}`);
        res.writeHead(599).end('not forwarded');
      },
    );
  });
  servers.push(server);
  return { url, outcomes };
}

async function readChunk(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const { value, done } = await reader.read();
  return done ? '' : new TextDecoder().decode(value);
}

describe('HttpStreamForwarder', () => {
  it("relays the client's resume to the owner and streams the owner's answer back as it comes", async () => {
    const seen: IncomingMessage[] = [];
    let sendRest: () => void = () => undefined;
    const ownerUrl = await startOwner((req, res) => {
      seen.push(req);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-stream-id': 'gw-owner.s1', 'x-session-id': 'conv-1' });
      res.write('id: 5\nevent: token\ndata: {"text":"a"}\n\n');
      sendRest = () => res.end('id: 6\nevent: done\ndata: {}\n\n');
    });
    const front = await startFront(ownerUrl);

    const res = await fetch(`${front.url}/v1/chat/stream?x=1`, {
      method: 'POST',
      headers: { authorization: 'Bearer rgm_k', 'last-event-id': '4', 'x-stream-id': 'gw-owner.s1', cookie: 'secret=1', 'content-type': 'application/json' },
      body: '{"ignored":true}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('x-stream-id')).toBe('gw-owner.s1');
    expect(res.headers.get('x-session-id')).toBe('conv-1');
    const reader = res.body!.getReader();
    // The first event arrives while the owner still holds the rest back: relayed, not buffered.
    expect(await readChunk(reader)).toBe('id: 5\nevent: token\ndata: {"text":"a"}\n\n');
    sendRest();
    let rest = '';
    for (let chunk = await readChunk(reader); chunk !== ''; chunk = await readChunk(reader)) rest += chunk;
    expect(rest).toBe('id: 6\nevent: done\ndata: {}\n\n');
    await waitUntil('the forward to settle', () => front.outcomes.length === 1, 2_000);
    expect(front.outcomes).toEqual(['relayed']);

    expect(seen).toHaveLength(1);
    expect(seen[0].method).toBe('POST');
    expect(seen[0].url).toBe('/v1/chat/stream?x=1');
    expect(seen[0].headers).toMatchObject({ authorization: 'Bearer rgm_k', 'last-event-id': '4', 'x-stream-id': 'gw-owner.s1', [FORWARDED_BY_HEADER]: 'gw-front', 'x-ragmesh-service-token': 'mesh-token', 'content-length': '0' });
    // Only what the owner needs crosses: no cookies, no body.
    expect(seen[0].headers.cookie).toBeUndefined();
    expect(seen[0].headers['content-type']).toBeUndefined();
  });

  it("passes the owner's error status and body through unchanged", async () => {
    const body = JSON.stringify({ status: 'error', message: 'stream gw-owner.s1 not found on this gateway', data: null });
    const ownerUrl = await startOwner((_req, res) => res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(body));
    const front = await startFront(ownerUrl);
    const res = await fetch(`${front.url}/v1/chat/stream/gw-owner.s1?last_event_id=2`, { headers: { authorization: 'Bearer rgm_k' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.text()).toBe(body);
  });

  it("cancels the owner's request when the client leaves mid-stream", async () => {
    let ownerSawClose = false;
    const ownerUrl = await startOwner((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('id: 1\nevent: reference\ndata: {}\n\n');
      res.on('close', () => (ownerSawClose = true));
    });
    const front = await startFront(ownerUrl);
    const abort = new AbortController();
    const res = await fetch(`${front.url}/v1/chat/stream/gw-owner.s1`, { signal: abort.signal });
    const reader = res.body!.getReader();
    expect(await readChunk(reader)).toContain('event: reference');
    expect(ownerSawClose).toBe(false);
    abort.abort();
    await waitUntil("the owner's request to be closed", () => ownerSawClose, 2_000);
    await waitUntil('the forward to settle', () => front.outcomes.length === 1, 2_000);
    expect(front.outcomes).toEqual(['relayed']);
  });

  it('rejects with ECONNREFUSED when nothing listens at the owner address, leaving the response to the caller', async () => {
    const gone = await listen(() => undefined);
    await close(gone.server);
    const front = await startFront(gone.url);
    const res = await fetch(`${front.url}/v1/chat/stream/gw-gone.s1`);
    expect(res.status).toBe(599);
    expect(front.outcomes).toEqual(['ECONNREFUSED']);
  });

  it('rejects with ETIMEDOUT when the owner accepts but does not answer in time', async () => {
    const ownerUrl = await startOwner(() => undefined);
    const front = await startFront(ownerUrl, new QuickForwarder());
    const started = Date.now();
    const res = await fetch(`${front.url}/v1/chat/stream/gw-stuck.s1`);
    expect(res.status).toBe(599);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(front.outcomes).toEqual(['ETIMEDOUT']);
  });
});
