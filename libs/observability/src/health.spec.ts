import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { checkReadiness, healthRouter, MetricsService, OpsServer, startOpsServer } from './index';

async function get(port: number, path: string): Promise<{ status: number; body: string; type: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

describe('startOpsServer', () => {
  let server: OpsServer;
  let postgresUp = true;

  beforeAll(async () => {
    server = await startOpsServer({
      port: 0,
      host: '127.0.0.1',
      service: 'ops-test',
      checks: {
        postgres: async () => {
          if (!postgresUp) throw new Error('connection refused');
        },
        rabbitmq: async () => undefined,
      },
    });
    new MetricsService('ops-test').counter('ragmesh_ops_test_things_total', 'things', ['kind']).inc({ kind: 'a' }, 3);
  });

  afterAll(() => server.close());

  it('listens on the port the OS chose', () => {
    expect(server.port).toBeGreaterThan(0);
  });

  it('serves Prometheus text with default metrics and the service label', async () => {
    const res = await get(server.port, '/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/plain');
    expect(res.body).toMatch(/process_cpu_user_seconds_total\{service="ops-test"\}/);
    expect(res.body).toContain('ops_test_things_total{kind="a",service="ops-test"} 3');
  });

  it('answers liveness', async () => {
    const res = await get(server.port, '/health/live');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
  });

  it('answers readiness 200 when every check passes and 503 naming the failing one', async () => {
    postgresUp = true;
    const ok = await get(server.port, '/health/ready');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ status: 'ok', checks: { postgres: { status: 'ok' }, rabbitmq: { status: 'ok' } } });

    postgresUp = false;
    const down = await get(server.port, '/health/ready?verbose=1');
    expect(down.status).toBe(503);
    expect(JSON.parse(down.body)).toEqual({
      status: 'error',
      checks: { postgres: { status: 'error', error: 'connection refused' }, rabbitmq: { status: 'ok' } },
    });
  });

  it('answers 404 for anything else', async () => {
    expect((await get(server.port, '/nope')).status).toBe(404);
  });
});

describe('checkReadiness', () => {
  it('fails a check that does not answer in time', async () => {
    const report = await checkReadiness({ slow: () => new Promise<void>(() => undefined) }, 20);
    expect(report).toEqual({ status: 'error', checks: { slow: { status: 'error', error: 'timed out after 20 ms' } } });
  });
});

describe('healthRouter', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    const router = healthRouter({ db: () => Promise.reject(new Error('db down')) });
    server = createServer((req, res) =>
      router(req, res, () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('app route');
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('serves the ops paths and passes everything else on', async () => {
    expect((await get(port, '/health/live')).status).toBe(200);
    const ready = await get(port, '/health/ready');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ checks: { db: { status: 'error', error: 'db down' } } });
    expect((await get(port, '/metrics')).body).toContain('process_cpu_user_seconds_total');
    expect(await get(port, '/v1/models')).toMatchObject({ status: 200, body: 'app route' });
  });
});

describe('MetricsService', () => {
  it('returns the same metric when asked twice by name', () => {
    const metrics = new MetricsService();
    const a = metrics.counter('ragmesh_idempotent_total', 'x', ['k']);
    const b = metrics.counter('ragmesh_idempotent_total', 'x', ['k']);
    expect(a).toBe(b);
    const h = metrics.histogram('ragmesh_idempotent_seconds', 'x', [], [0.1, 1]);
    expect(metrics.histogram('ragmesh_idempotent_seconds', 'x')).toBe(h);
    const g = metrics.gauge('ragmesh_idempotent_gauge', 'x');
    expect(metrics.gauge('ragmesh_idempotent_gauge', 'x')).toBe(g);
  });
});
