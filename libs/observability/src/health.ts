import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { initMetrics, metricsRegistry } from './metrics';

/** Resolves when healthy; throws (with the reason) when not. */
export type HealthCheck = () => Promise<void>;

/** A check that has not answered by then counts as failed: readiness must answer quickly. */
export const HEALTH_CHECK_TIMEOUT_MS = 2_000;

export const OPS_PATHS = { metrics: '/metrics', live: '/health/live', ready: '/health/ready' } as const;

export interface CheckResult {
  status: 'ok' | 'error';
  error?: string;
}

export interface ReadinessReport {
  status: 'ok' | 'error';
  checks: Record<string, CheckResult>;
}

async function runCheck(check: HealthCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check(), timeout]);
    return { status: 'ok' };
  } catch (err) {
    return { status: 'error', error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkReadiness(
  checks: Record<string, HealthCheck>,
  timeoutMs: number = HEALTH_CHECK_TIMEOUT_MS,
): Promise<ReadinessReport> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((name) => runCheck(checks[name], timeoutMs)));
  const report: ReadinessReport = { status: 'ok', checks: {} };
  names.forEach((name, i) => {
    report.checks[name] = results[i];
    if (results[i].status === 'error') report.status = 'error';
  });
  return report;
}

function sendJson(res: ServerResponse, statusCode: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(statusCode, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Answers the ops paths; returns false (and touches nothing) for any other request,
 * so it can sit in front of an application's own routes.
 */
async function handleOpsRequest(
  req: IncomingMessage,
  res: ServerResponse,
  checks: Record<string, HealthCheck>,
): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  switch (path) {
    case OPS_PATHS.metrics: {
      const text = await metricsRegistry.metrics();
      res.writeHead(200, { 'content-type': metricsRegistry.contentType });
      res.end(text);
      return true;
    }
    case OPS_PATHS.live:
      sendJson(res, 200, { status: 'ok' });
      return true;
    case OPS_PATHS.ready: {
      const report = await checkReadiness(checks);
      sendJson(res, report.status === 'ok' ? 200 : 503, report);
      return true;
    }
    default:
      return false;
  }
}

function sendInternalError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, 500, { status: 'error', message: err instanceof Error ? err.message : String(err) });
}

/** GET /metrics and /health/* as an express-style middleware, for an app's own HTTP port. */
export function healthRouter(
  checks: Record<string, HealthCheck>,
): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  return (req, res, next) => {
    handleOpsRequest(req, res, checks).then(
      (handled) => {
        if (!handled) next();
      },
      (err: unknown) => next(err),
    );
  };
}

export interface OpsServerOptions {
  port: number;
  service: string;
  checks: Record<string, HealthCheck>;
  /** Defaults to all interfaces so Prometheus and Kubernetes probes can reach it. */
  host?: string;
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/** A small node:http server for metrics and health, for services without an HTTP port of their own. */
export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  initMetrics(opts.service);
  const server = createServer((req, res) => {
    handleOpsRequest(req, res, opts.checks).then(
      (handled) => {
        if (!handled) sendJson(res, 404, { status: 'error', message: `not found: ${req.method} ${req.url}` });
      },
      (err: unknown) => sendInternalError(res, err),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive scrapers would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}
