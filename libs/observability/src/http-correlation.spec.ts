import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { getCorrelationId, httpCorrelationMiddleware } from './index';

describe('httpCorrelationMiddleware', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((req, res) =>
      httpCorrelationMiddleware(req, res, () => {
        void (async () => {
          // The id must survive the asynchronous work a handler does.
          await sleep(2);
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ seen: getCorrelationId() }));
        })();
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("uses the caller's id, runs the handler inside it and echoes it", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-correlation-id': 'from-caller' } });
    expect(res.headers.get('x-correlation-id')).toBe('from-caller');
    expect(await res.json()).toEqual({ seen: 'from-caller' });
  });

  it('makes an id when the caller sends none or an unusable one', async () => {
    const cases: Record<string, string>[] = [{}, { 'x-correlation-id': 'has spaces' }];
    for (const headers of cases) {
      const res = await fetch(`http://127.0.0.1:${port}/`, { headers });
      const id = res.headers.get('x-correlation-id');
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(await res.json()).toEqual({ seen: id });
    }
  });

  it('a second pass for the same request (Express, then Nest middleware) keeps the first id and context', async () => {
    const twice = createServer((req, res) =>
      httpCorrelationMiddleware(req, res, () => {
        const first = getCorrelationId();
        // A caller-supplied header changed in between must not start a second context.
        req.headers['x-correlation-id'] = 'changed-in-between';
        httpCorrelationMiddleware(req, res, () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ first, second: getCorrelationId() }));
        });
      }),
    );
    await new Promise<void>((resolve) => twice.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(twice.address() as AddressInfo).port}/`, { headers: { 'x-correlation-id': 'from-caller' } });
      expect(await res.json()).toEqual({ first: 'from-caller', second: 'from-caller' });
      expect(res.headers.get('x-correlation-id')).toBe('from-caller');
    } finally {
      await new Promise<void>((resolve) => twice.close(() => resolve()));
    }
  });
});
