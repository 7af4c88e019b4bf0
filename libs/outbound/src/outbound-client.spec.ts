import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OutboundError } from './errors';
import { OutboundHttpClient } from './outbound-client';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** A local receiver on an ephemeral port; records every request it gets. */
async function receiver(handler: Handler): Promise<{ server: Server; port: number; seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] }> {
  const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

async function failure(promise: Promise<unknown>): Promise<OutboundError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof OutboundError) return err;
    throw err;
  }
  throw new Error('expected the request to fail');
}

const redirect = (res: ServerResponse, status: number, location: string) => res.writeHead(status, { location }).end();

describe('OutboundHttpClient', () => {
  let target: Awaited<ReturnType<typeof receiver>>;
  let base: string;
  const clients: OutboundHttpClient[] = [];
  const client = (policy: ConstructorParameters<typeof OutboundHttpClient>[0] = {}) => {
    const c = new OutboundHttpClient(policy);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    target = await receiver((req, body, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const to = url.searchParams.get('to');
      if (url.pathname === '/redirect' && to) return redirect(res, Number(url.searchParams.get('status') ?? 302), to);
      if (url.pathname === '/loop') return redirect(res, 307, '/loop');
      if (url.pathname === '/big') return res.end(Buffer.alloc(64 * 1024, 'x'));
      if (url.pathname === '/hang') return; // never answers
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, body, auth: req.headers.authorization ?? null }));
    });
    base = `http://127.0.0.1:${target.port}`;
  });
  beforeEach(() => (target.seen.length = 0));
  afterAll(async () => {
    for (const c of clients) c.close();
    target.server.closeAllConnections();
    await new Promise((resolve) => target.server.close(resolve));
  });

  describe('without an allow-list', () => {
    it.each([
      ['a loopback literal', (port: number) => `http://127.0.0.1:${port}/`],
      ['a loopback name resolved by DNS', (port: number) => `http://localhost:${port}/`],
      ['IPv6 loopback', (port: number) => `http://[::1]:${port}/`],
      ['IPv4-mapped IPv6 loopback', (port: number) => `http://[::ffff:127.0.0.1]:${port}/`],
      ['a decimal-encoded loopback', (port: number) => `http://2130706433:${port}/`],
      ['the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/'],
      ['a private address', () => 'http://10.0.0.1/'],
      ['a CGNAT address', () => 'http://100.64.0.1/'],
      ['the unspecified address', (port: number) => `http://0.0.0.0:${port}/`],
    ])('refuses %s before connecting', async (_what, url) => {
      const err = await failure(client().post(url(target.port), '{}'));
      expect(err.code).toBe('BLOCKED_ADDRESS');
      expect(err.retryable).toBe(false);
      expect(target.seen).toHaveLength(0);
    });

    it('assertAllowed resolves names and refuses a non-public one', async () => {
      await expect(client().assertAllowed('http://localhost/hook')).rejects.toMatchObject({ code: 'BLOCKED_ADDRESS' });
      await expect(client().assertAllowed('http://8.8.8.8/hook')).resolves.toBeUndefined();
    });
  });

  it.each([
    ['ftp://127.0.0.1/x', /scheme/],
    ['http://user:secret@127.0.0.1/x', /credentials/],
    ['/relative', /absolute/],
  ])('refuses the URL %s', async (url, message) => {
    const err = await failure(client({ allow: '127.0.0.0/8' }).request({ url }));
    expect(err.code).toBe('BAD_URL');
    expect(err.message).toMatch(message);
  });

  it('reaches a loopback receiver when its CIDR is allow-listed', async () => {
    const response = await client({ allow: '127.0.0.0/8' }).post(`${base}/hook`, '{"a":1}', { 'content-type': 'application/json' });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body.toString())).toEqual({ method: 'POST', body: '{"a":1}', auth: null });
    expect(response.headers['content-type']).toBe('application/json');
  });

  it('reaches a name when the host itself is allow-listed', async () => {
    const response = await client({ allow: 'localhost' }).request({ url: `http://localhost:${target.port}/` });
    expect(response.status).toBe(200);
  });

  it('returns 4xx/5xx statuses instead of throwing', async () => {
    const other = await receiver((_req, _body, res) => res.writeHead(503).end('busy'));
    try {
      const response = await client({ allow: '127.0.0.1' }).post(`http://127.0.0.1:${other.port}/`, 'x');
      expect(response.status).toBe(503);
      expect(response.body.toString()).toBe('busy');
    } finally {
      other.server.close();
    }
  });

  describe('redirects', () => {
    const allowed = () => client({ allow: '127.0.0.1/32' });

    it('follows a 307 keeping method and body, and reports the hop', async () => {
      const response = await allowed().post(`${base}/redirect?status=307&to=/final`, 'payload');
      expect(JSON.parse(response.body.toString())).toMatchObject({ method: 'POST', body: 'payload' });
      expect(response.redirects).toEqual([`${base}/final`]);
      expect(response.url).toBe(`${base}/final`);
    });

    it('follows a 302 of a GET', async () => {
      const response = await allowed().request({ url: `${base}/redirect?status=302&to=/final` });
      expect(JSON.parse(response.body.toString())).toMatchObject({ method: 'GET' });
    });

    it('does not follow a 302 of a POST (it would drop the body): the caller gets the 302', async () => {
      const response = await allowed().post(`${base}/redirect?status=302&to=/final`, 'payload');
      expect(response.status).toBe(302);
      expect(target.seen.map((r) => r.url)).toEqual(['/redirect?status=302&to=/final']);
    });

    it.each([
      ['a private address', 'http://10.0.0.1/x'],
      ['the metadata address', 'http://169.254.169.254/latest'],
      ['another loopback address outside the allowed CIDR', 'http://127.0.0.2:1/x'],
      ['IPv6 loopback', 'http://[::1]:1/x'],
      ['IPv4-mapped loopback outside the allowed CIDR', 'http://[::ffff:127.0.0.9]:1/x'],
      ['IPv4-compatible metadata address (the URL parser writes [::a9fe:a9fe])', 'http://[::169.254.169.254]/latest'],
    ])('re-checks the target: a redirect to %s is refused', async (_what, to) => {
      const err = await failure(allowed().post(`${base}/redirect?status=307&to=${encodeURIComponent(to)}`, 'x'));
      expect(err.code).toBe('BLOCKED_ADDRESS');
      expect(target.seen).toHaveLength(1);
    });

    it('re-checks a redirect to a name at connect time', async () => {
      // localhost resolves to loopback, which this client allows only as the literal 127.0.0.1/32 when it is the only address.
      const strict = client({ allow: '10.9.9.9' });
      const err = await failure(strict.request({ url: `http://localhost:${target.port}/` }));
      expect(err.code).toBe('BLOCKED_ADDRESS');
      expect(err.message).toMatch(/localhost \((127\.0\.0\.1|::1)\)/);
    });

    it('stops after maxRedirects', async () => {
      const err = await failure(client({ allow: '127.0.0.1', maxRedirects: 2 }).request({ url: `${base}/loop` }));
      expect(err.code).toBe('TOO_MANY_REDIRECTS');
      expect(target.seen).toHaveLength(3);
    });

    it('returns the 3xx itself when maxRedirects is 0', async () => {
      const response = await client({ allow: '127.0.0.1' }).request({ url: `${base}/loop`, maxRedirects: 0 });
      expect(response.status).toBe(307);
      expect(response.headers.location).toBe('/loop');
    });

    it('refuses a redirect to another scheme', async () => {
      const err = await failure(allowed().request({ url: `${base}/redirect?to=${encodeURIComponent('file:///etc/passwd')}` }));
      expect(err.code).toBe('BAD_URL');
    });

    it('drops Authorization on a cross-origin hop and keeps it on a same-origin one', async () => {
      const both = client({ allow: '127.0.0.1, localhost' });
      const same = await both.request({ url: `${base}/redirect?to=/final`, headers: { Authorization: 'Bearer t' } });
      expect(JSON.parse(same.body.toString())).toMatchObject({ auth: 'Bearer t' });
      const cross = await both.request({ url: `${base}/redirect?to=${encodeURIComponent(`http://localhost:${target.port}/final`)}`, headers: { Authorization: 'Bearer t' } });
      expect(JSON.parse(cross.body.toString())).toMatchObject({ auth: null });
    });
  });

  describe('caps', () => {
    it('fails a response body over maxResponseBytes', async () => {
      const err = await failure(client({ allow: '127.0.0.1', maxResponseBytes: 1000 }).request({ url: `${base}/big` }));
      expect(err.code).toBe('RESPONSE_TOO_LARGE');
    });

    it('a request may lower the size cap but not raise it', async () => {
      const c = client({ allow: '127.0.0.1', maxResponseBytes: 1000 });
      await expect(c.request({ url: `${base}/big`, maxResponseBytes: 10_000_000 })).rejects.toMatchObject({ code: 'RESPONSE_TOO_LARGE' });
    });

    it('times out a target that never answers, within the whole-request cap', async () => {
      const started = Date.now();
      const err = await failure(client({ allow: '127.0.0.1', timeoutMs: 300 }).request({ url: `${base}/hang` }));
      expect(err.code).toBe('TIMEOUT');
      expect(err.retryable).toBe(true);
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('reports a refused connection as a retryable network error', async () => {
      const closed = await receiver(() => undefined);
      await new Promise((resolve) => closed.server.close(resolve));
      const err = await failure(client({ allow: '127.0.0.1' }).request({ url: `http://127.0.0.1:${closed.port}/` }));
      expect(err.code).toBe('NETWORK');
      expect(err.retryable).toBe(true);
    });
  });
});
