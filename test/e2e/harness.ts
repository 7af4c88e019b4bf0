import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { waitFor } from '@ragmesh/testing';
import { Client } from 'pg';

/**
 * Starts the six services as separate processes from dist/, on ports of their own and with a
 * database and a RabbitMQ vhost of their own, so a running `npm start` mesh is not disturbed.
 */
export const ROOT = join(__dirname, '..', '..');
/** RAGMESH_E2E_NAME and RAGMESH_E2E_PORT_OFFSET let two checkouts run their e2e tiers side by side. */
const E2E_NAME = process.env.RAGMESH_E2E_NAME ?? 'ragmesh_e2e';
const PORT_OFFSET = Number(process.env.RAGMESH_E2E_PORT_OFFSET ?? 0);
/** RAGMESH_DIST names the compiled tree the services run from (default dist/). */
export const DIST = join(ROOT, process.env.RAGMESH_DIST ?? 'dist');
const LOG_DIR = join(ROOT, '.run', `${E2E_NAME}-logs`);

/**
 * Every port sits below Linux's ephemeral range (32768–60999): a listener there can find its port
 * already taken as the local end of some process's outgoing connection (seen with the gRPC ports
 * at 5015x). Offsets up to ~12,000 keep them below it.
 */
export const E2E_PORTS = {
  gateway: 3300 + PORT_OFFSET,
  retrievalGrpc: 20151 + PORT_OFFSET,
  generationGrpc: 20152 + PORT_OFFSET,
  registryGrpc: 20153 + PORT_OFFSET,
  registryHttp: 3301 + PORT_OFFSET,
  retrievalOps: 9201 + PORT_OFFSET,
  generationOps: 9202 + PORT_OFFSET,
  registryOps: 9203 + PORT_OFFSET,
  feedbackOps: 9204 + PORT_OFFSET,
  summarizerOps: 9205 + PORT_OFFSET,
  // Far from the others: offsets of parallel runs differ by small numbers, and 3302 + o would be 3300 + (o + 2).
  secondGateway: 4300 + PORT_OFFSET,
} as const;

/**
 * The API key every e2e request to the gateway sends (`Authorization: Bearer …`). The gateway
 * seeds it at start from RAGMESH_BOOTSTRAP_API_KEY with every scope (issue 9); use authHeaders().
 */
export const E2E_API_KEY = 'rgm_e2e_0123456789abcdef0123456789abcdef';
export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${E2E_API_KEY}`, ...extra };
}

const PG_ADMIN_URL = process.env.E2E_PG_ADMIN_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
export const E2E_DATABASE = E2E_NAME;
export const E2E_VHOST = E2E_NAME;

export interface ServiceSpec {
  name: string;
  /** The app run (`dist/apps/<app>/src/main.js`); default `name`. */
  app?: string;
  env: Record<string, string>;
  readyUrl: string;
  logFile: string;
}

export interface RunningMesh {
  services: ServiceSpec[];
  gatewayUrl: string;
  /** With `secondGateway`: the other gateway replica (service `gateway-2`), same database and broker. */
  secondGatewayUrl?: string;
  amqpUrl: string;
  databaseUrl: string;
  logOf(name: string): string;
  /** SIGTERM to one service (e.g. `gateway`); resolves when it exited. */
  stopService(name: string): Promise<void>;
  stop(): Promise<void>;
}

export interface MeshOptions {
  /** Also start a second gateway replica (env on top of the first one's), started after it. */
  secondGateway?: boolean | Record<string, string>;
}

async function recreateDatabase(): Promise<string> {
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${E2E_DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${E2E_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${E2E_DATABASE}`;
  return url.toString();
}


/** A vhost of our own keeps the e2e queues apart; without rabbitmqctl we share the default one. */
function prepareVhost(): string {
  const base = process.env.E2E_AMQP_BASE ?? 'amqp://guest:guest@127.0.0.1:5672';
  try {
    execFileSync('rabbitmqctl', ['delete_vhost', E2E_VHOST], { stdio: 'ignore' });
  } catch {
    // absent: nothing to delete
  }
  try {
    execFileSync('rabbitmqctl', ['add_vhost', E2E_VHOST], { stdio: 'ignore' });
    execFileSync('rabbitmqctl', ['set_permissions', '-p', E2E_VHOST, 'guest', '.*', '.*', '.*'], { stdio: 'ignore' });
    return `${base}/${E2E_VHOST}`;
  } catch {
    return base;
  }
}

/** Compiles the tree into DIST unless it holds a build already (specs that start a process before the mesh call it first). */
export function ensureBuilt(): void {
  if (!existsSync(join(DIST, 'apps', 'gateway', 'src', 'main.js'))) {
    const out = ['--outDir', DIST, '--tsBuildInfoFile', join(DIST, '.tsbuildinfo')];
    execFileSync('npx', ['--no-install', 'tsc', '-p', 'tsconfig.build.json', ...out], { cwd: ROOT, stdio: 'inherit' });
  }
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode} before ready`);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
      last = `HTTP ${res.status}: ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not ready at ${url} after ${timeoutMs} ms: ${last}`);
}

export async function startMesh(extraEnv: Record<string, string> = {}, options: MeshOptions = {}): Promise<RunningMesh> {
  ensureBuilt();
  mkdirSync(LOG_DIR, { recursive: true });
  const databaseUrl = await recreateDatabase();
  const amqpUrl = prepareVhost();
  const p = E2E_PORTS;
  const common = {
    DATABASE_URL: databaseUrl,
    AMQP_URL: amqpUrl,
    LOG_LEVEL: 'debug',
    RETRIEVAL_GRPC_URL: `127.0.0.1:${p.retrievalGrpc}`,
    GENERATION_GRPC_URL: `127.0.0.1:${p.generationGrpc}`,
    REGISTRY_GRPC_URL: `127.0.0.1:${p.registryGrpc}`,
    RAGMESH_BOOTSTRAP_API_KEY: E2E_API_KEY,
    ...extraEnv,
  };
  const services: ServiceSpec[] = [
    { name: 'model-registry', env: { REGISTRY_GRPC_PORT: `${p.registryGrpc}`, REGISTRY_HTTP_PORT: `${p.registryHttp}`, OPS_PORT: `${p.registryOps}` }, readyUrl: `http://127.0.0.1:${p.registryOps}/health/ready`, logFile: '' },
    { name: 'retrieval', env: { RETRIEVAL_GRPC_PORT: `${p.retrievalGrpc}`, OPS_PORT: `${p.retrievalOps}` }, readyUrl: `http://127.0.0.1:${p.retrievalOps}/health/ready`, logFile: '' },
    { name: 'generation-proxy', env: { GENERATION_GRPC_PORT: `${p.generationGrpc}`, OPS_PORT: `${p.generationOps}` }, readyUrl: `http://127.0.0.1:${p.generationOps}/health/ready`, logFile: '' },
    { name: 'summarizer', env: { OPS_PORT: `${p.summarizerOps}` }, readyUrl: `http://127.0.0.1:${p.summarizerOps}/health/ready`, logFile: '' },
    { name: 'feedback-worker', env: { OPS_PORT: `${p.feedbackOps}` }, readyUrl: `http://127.0.0.1:${p.feedbackOps}/health/ready`, logFile: '' },
    { name: 'gateway', env: { GATEWAY_PORT: `${p.gateway}`, GATEWAY_INTERNAL_URL: `http://127.0.0.1:${p.gateway}` }, readyUrl: `http://127.0.0.1:${p.gateway}/health/ready`, logFile: '' },
  ];
  if (options.secondGateway) {
    const own = options.secondGateway === true ? {} : options.secondGateway;
    const env = { GATEWAY_PORT: `${p.secondGateway}`, GATEWAY_INTERNAL_URL: `http://127.0.0.1:${p.secondGateway}`, ...own };
    services.push({ name: 'gateway-2', app: 'gateway', env, readyUrl: `http://127.0.0.1:${p.secondGateway}/health/ready`, logFile: '' });
  }
  const children = new Map<string, ChildProcess>();
  const terminate = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  const stop = async (): Promise<void> => {
    await Promise.all([...children.values()].map(terminate));
  };
  const stopService = async (name: string): Promise<void> => {
    const child = children.get(name);
    if (!child) throw new Error(`no service ${name} in this mesh`);
    await terminate(child);
  };
  try {
    for (const svc of services) {
      svc.logFile = join(LOG_DIR, `${svc.name}.log`);
      const log = createWriteStream(svc.logFile, { flags: 'w' });
      const child = spawn(
        process.execPath,
        ['-r', join(ROOT, 'scripts', 'register-paths.js'), join(DIST, 'apps', svc.app ?? svc.name, 'src', 'main.js')],
        { cwd: ROOT, env: { ...process.env, RAGMESH_DIST: DIST, ...common, ...svc.env }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
      children.set(svc.name, child);
      try {
        await waitReady(svc.readyUrl, child, 60_000);
      } catch (err) {
        throw new Error(`${svc.name}: ${(err as Error).message}\n--- log ---\n${readFileSync(svc.logFile, 'utf8').slice(-4000)}`);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    services,
    gatewayUrl: `http://127.0.0.1:${p.gateway}`,
    secondGatewayUrl: options.secondGateway ? `http://127.0.0.1:${p.secondGateway}` : undefined,
    amqpUrl,
    databaseUrl,
    logOf: (name) => readFileSync(join(LOG_DIR, `${name}.log`), 'utf8'),
    stopService,
    stop,
  };
}

/** How often the e2e tier polls the processes under test (their own work competes for the same 2 cores). */
const E2E_POLL_MS = 200;

export function pollUntil<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  return waitFor(what, fn, timeoutMs, E2E_POLL_MS);
}

/**
 * One unary call to a service on 127.0.0.1 with the request as raw bytes (empty: every field at
 * its default), as a client without the .proto makes it; resolves with the response's bytes and
 * rejects with the grpc-js ServiceError.
 */
export function rawUnaryCall(port: number, method: string, metadata = new grpc.Metadata(), request = Buffer.alloc(0)): Promise<Buffer> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const passBytes = (bytes: Buffer) => bytes;
    client.makeUnaryRequest(method, passBytes, passBytes, request, metadata, { deadline: new Date(Date.now() + 5_000) }, (err, value) => {
      client.close();
      if (err) reject(err);
      else resolve(value ?? Buffer.alloc(0));
    });
  });
}
