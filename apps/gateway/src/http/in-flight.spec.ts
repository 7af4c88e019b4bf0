import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { healthRouter } from '@ragmesh/observability';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { shutdownGateway } from '../app';
import { readinessChecks } from '../health/health';
import { InFlightRequests } from './in-flight';

const READY_DELAY_MS = 400;

/** The gateway's readiness route over a real socket, with stand-ins for the database and broker (both healthy). */
async function startReadiness(inFlight: InFlightRequests): Promise<{ server: Server; base: string }> {
  const ds = { isInitialized: true, query: async () => [] } as never;
  const messaging = { healthCheck: () => async () => undefined } as never;
  const router = healthRouter(readinessChecks(ds, messaging, inFlight.readiness));
  const server = createServer((req, res) => router(req, res, () => res.writeHead(404).end()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('readiness while the gateway drains', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('answers 503 from SIGTERM on, while the listener is still open, then closes the listener', async () => {
    const inFlight = new InFlightRequests();
    const { server, base } = await startReadiness(inFlight);
    const before = await fetch(`${base}/health/ready`);
    expect(before.status).toBe(200);

    const app = { getHttpServer: () => server, get: () => inFlight, close: async () => undefined } as unknown as NestExpressApplication;
    const shutdown = shutdownGateway(app, 1_000, READY_DELAY_MS);
    const during = await fetch(`${base}/health/ready`, { headers: { connection: 'close' } });
    expect(during.status).toBe(503);
    expect(((await during.json()) as { checks: Record<string, unknown> }).checks.shutdown).toEqual({ status: 'error', error: 'draining: the gateway is shutting down' });

    await shutdown;
    await expect(fetch(`${base}/health/ready`)).rejects.toThrow();
  });

  it('fails the readiness check once a drain begins', async () => {
    const inFlight = new InFlightRequests();
    await expect(inFlight.readiness()).resolves.toBeUndefined();
    await inFlight.drain(0);
    await expect(inFlight.readiness()).rejects.toThrow('draining');
  });
});
