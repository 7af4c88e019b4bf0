import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, protoPath, serviceMetadata } from '@ragmesh/contracts';
import { CallbackReceiver, freePort, ServiceProcess } from '@ragmesh/testing';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { authHeaders, DIST, E2E_PORTS, pollUntil, rawUnaryCall, ROOT, type RunningMesh, startMesh } from './harness';

/**
 * Issue 9 across real processes: the mesh's gRPC servers refuse calls without the service token,
 * two gateway processes share one rate-limit budget through PostgreSQL, and a SIGTERM while 50
 * streams are open and 200 feedback jobs are queued tells every stream and loses no job.
 */
jest.setTimeout(240_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const LOG_DIR = join(ROOT, '.run', `${process.env.RAGMESH_E2E_NAME ?? 'ragmesh_e2e'}-logs`);
const SHUTDOWN_GRACE_MS = 2_000;
const STREAMS = 50;
const JOBS = 200;

let mesh: RunningMesh;
const extra: ServiceProcess[] = [];

function grpcClient(service: string, port: number): grpc.Client {
  const file = service === 'RetrievalService' ? 'retrieval' : service === 'GenerationService' ? 'generation' : 'registry';
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath(file), PROTO_LOADER_OPTIONS)) as unknown as { ragmesh: { v1: Record<string, grpc.ServiceClientConstructor> } };
  return new pkg.ragmesh.v1[service](`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

function unaryCall(client: grpc.Client, method: string, request: object, metadata = new grpc.Metadata()): Promise<grpc.status> {
  const fn = (client as unknown as Record<string, (r: object, m: grpc.Metadata, o: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void) => void>)[method];
  return new Promise((resolve) => fn.call(client, request, metadata, { deadline: new Date(Date.now() + 5_000) }, (err) => resolve(err ? err.code : grpc.status.OK)));
}

function healthStatus(port: number): Promise<grpc.status> {
  return rawUnaryCall(port, '/grpc.health.v1.Health/Check').then(
    () => grpc.status.OK,
    (err: grpc.ServiceError) => err.code,
  );
}

/** A generation server that streams a token every 200 ms until the caller goes away (the streams under test stay open). */
async function startHoldingGeneration(): Promise<{ server: grpc.Server; port: number }> {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath('generation'), PROTO_LOADER_OPTIONS)) as unknown as { ragmesh: { v1: Record<string, grpc.ServiceClientConstructor> } };
  const server = new grpc.Server();
  const token = { delta: 'tick ', finishReason: '', model: '', upstream: '' };
  server.addService(pkg.ragmesh.v1.GenerationService.service, {
    GenerateStream: (call: grpc.ServerWritableStream<object, object>) => {
      call.write(token);
      const timer = setInterval(() => call.write(token), 200);
      call.on('cancelled', () => clearInterval(timer));
      call.on('close', () => clearInterval(timer));
    },
    ListModels: (_call: unknown, cb: grpc.sendUnaryData<object>) => cb(null, { models: [] }),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { server, port };
}

/** One more service process of the mesh, from the compiled tree, on the mesh's database and broker. */
async function spawnService(name: 'gateway' | 'feedback-worker', env: Record<string, string>, readyPort: number): Promise<ServiceProcess> {
  mkdirSync(LOG_DIR, { recursive: true });
  const service = await ServiceProcess.start({
    args: ['-r', join(ROOT, 'scripts', 'register-paths.js'), join(DIST, 'apps', name, 'src', 'main.js')],
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: mesh.databaseUrl,
      AMQP_URL: mesh.amqpUrl,
      LOG_LEVEL: 'info',
      RETRIEVAL_GRPC_URL: `127.0.0.1:${E2E_PORTS.retrievalGrpc}`,
      GENERATION_GRPC_URL: `127.0.0.1:${E2E_PORTS.generationGrpc}`,
      REGISTRY_GRPC_URL: `127.0.0.1:${E2E_PORTS.registryGrpc}`,
      OUTBOUND_ALLOWLIST: '127.0.0.0/8,::1',
      ...env,
    },
    logFile: join(LOG_DIR, `security-${name}-${readyPort}.log`),
    readyUrl: `http://127.0.0.1:${readyPort}/health/ready`,
  });
  extra.push(service);
  return service;
}

async function spawnGateway(env: Record<string, string> = {}): Promise<{ process: ServiceProcess; url: string }> {
  const port = await freePort();
  const process = await spawnService('gateway', { GATEWAY_PORT: String(port), ...env }, port);
  return { process, url: `http://127.0.0.1:${port}` };
}

beforeAll(async () => {
  mesh = await startMesh({ OUTBOUND_ALLOWLIST: '127.0.0.0/8,::1' });
});

afterAll(async () => {
  await Promise.all(extra.map((s) => s.stop()));
  await mesh?.stop();
});

it('refuses gRPC calls without the service token (UNAUTHENTICATED) and keeps the health service open', async () => {
  const retrieval = grpcClient('RetrievalService', E2E_PORTS.retrievalGrpc);
  const generation = grpcClient('GenerationService', E2E_PORTS.generationGrpc);
  const registry = grpcClient('ModelRegistryService', E2E_PORTS.registryGrpc);
  expect(await unaryCall(retrieval, 'search', { query: 'x', topK: 1 })).toBe(grpc.status.UNAUTHENTICATED);
  expect(await unaryCall(generation, 'listModels', {})).toBe(grpc.status.UNAUTHENTICATED);
  expect(await unaryCall(registry, 'listUpstreams', {})).toBe(grpc.status.UNAUTHENTICATED);
  const wrong = new grpc.Metadata();
  wrong.set('x-ragmesh-service-token', 'guessed');
  expect(await unaryCall(retrieval, 'search', { query: 'x', topK: 1 }, wrong)).toBe(grpc.status.UNAUTHENTICATED);
  expect(await unaryCall(retrieval, 'search', { query: 'x', topK: 1 }, serviceMetadata())).toBe(grpc.status.OK);
  expect(await unaryCall(generation, 'listModels', {}, serviceMetadata())).toBe(grpc.status.OK);
  for (const port of [E2E_PORTS.retrievalGrpc, E2E_PORTS.generationGrpc, E2E_PORTS.registryGrpc]) expect(await healthStatus(port)).toBe(grpc.status.OK);
  for (const c of [retrieval, generation, registry]) c.close();
});

it('holds one per-key request budget across two gateway processes sharing PostgreSQL', async () => {
  const created = await fetch(`${mesh.gatewayUrl}/v1/admin/keys`, {
    method: 'POST',
    headers: authHeaders({ 'content-type': 'application/json' }),
    body: JSON.stringify({ name: 'two-replicas', scopes: ['chat'] }),
  });
  expect(created.status).toBe(201);
  const key = ((await created.json()) as Json).data.key as string;
  const limited = { RATE_LIMIT_REQUESTS_PER_MIN: '6', RATE_LIMIT_STORE: 'postgres' };
  const [a, b] = await Promise.all([spawnGateway(limited), spawnGateway(limited)]);
  const statuses: number[] = [];
  let last: Response | undefined;
  for (let i = 0; i < 9; i++) {
    last = await fetch(`${(i % 2 === 0 ? a : b).url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    statuses.push(last.status);
  }
  expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429, 429]);
  expect(last!.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
  expect(last!.headers.get('x-ratelimit-limit')).toBe('6');
  expect(last!.headers.get('x-ratelimit-remaining')).toBe('0');
  await Promise.all([a.process.stop(), b.process.stop()]);
});

/** Opens one chat stream (both formats alternate); resolves once its headers are in, with the body still arriving. */
async function openStream(url: string, i: number): Promise<{ status: number; body: Promise<string> }> {
  const native = i % 2 === 0;
  const res = await fetch(`${url}/v1/chat/${native ? 'stream' : 'completions'}`, {
    method: 'POST',
    headers: authHeaders({ 'content-type': 'application/json' }),
    body: JSON.stringify({ rag: false, ...(native ? {} : { stream: true }), messages: [{ role: 'user', content: `hold on ${i}` }] }),
  });
  // A body cut without a final event reads as '' (not told).
  return { status: res.status, body: res.text().catch(() => '') };
}

async function queueJobs(url: string, receiver: CallbackReceiver, count: number): Promise<string[]> {
  const ids: string[] = [];
  const post = async (i: number) => {
    const res = await fetch(`${url}/v1/feedback`, {
      method: 'POST',
      headers: authHeaders({ 'content-type': 'application/json', 'idempotency-key': `sigterm-${randomUUID()}` }),
      body: JSON.stringify({ memberId: `member-${i}`, startDate: '2024-05-01', endDate: '2024-05-31', activity: { challenges: [{ title: 'Walk', category: 'walking', achieved: i % 30, total: 30 }] }, callbackUrl: receiver.url(`/cb/${i}`) }),
    });
    expect(res.status).toBe(202);
    ids.push(((await res.json()) as Json).data.jobId as string);
  };
  for (let i = 0; i < count; i += 20) await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, k) => post(i + k)));
  return ids;
}

it('on SIGTERM tells all 50 open streams the server is going away and loses none of 200 queued jobs', async () => {
  const holding = await startHoldingGeneration();
  const receiver = await CallbackReceiver.start();
  const db = new Client({ connectionString: mesh.databaseUrl });
  await db.connect();
  try {
    const opsPort = await freePort();
    const worker = await spawnService('feedback-worker', { OPS_PORT: String(opsPort) }, opsPort);
    const gw = await spawnGateway({ GENERATION_GRPC_URL: `127.0.0.1:${holding.port}`, SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS), CHAT_QUERY_REWRITE: 'rules' });

    const streams = await Promise.all(Array.from({ length: STREAMS }, (_, i) => openStream(gw.url, i)));
    expect(streams.map((s) => s.status)).toEqual(Array(STREAMS).fill(200));
    const jobIds = await queueJobs(gw.url, receiver, JOBS);
    expect(new Set(jobIds).size).toBe(JOBS);

    // Both stop mid-work: the gateway with its streams open, the extra worker with jobs in hand.
    const signalledAt = Date.now();
    gw.process.kill('SIGTERM');
    worker.kill('SIGTERM');
    const bodies = await Promise.all(streams.map((s) => s.body));
    await gw.process.waitExit();
    const exitMs = Date.now() - signalledAt;
    await worker.waitExit();

    const told = bodies.filter((b) => b.includes('server_shutting_down') && b.includes('going away'));
    expect({ told: told.length, sample: told.length === STREAMS ? '' : bodies.find((b) => !b.includes('server_shutting_down'))?.slice(-300) }).toEqual({ told: STREAMS, sample: '' });
    expect(exitMs).toBeLessThan(SHUTDOWN_GRACE_MS + 5_000);
    expect(gw.process.log()).toContain('drained in-flight requests');
    expect(gw.process.log()).not.toContain('shutdown timed out');
    console.log(`SIGTERM: gateway exited after ${exitMs} ms with ${STREAMS} streams told; extra worker stopped`);

    // No job lost: the mesh's worker delivers every one (the stopped worker's unfinished ones come back to the queue).
    await receiver.waitForJobs(jobIds, 150_000);
    const finished = await pollUntil(
      async () => {
        const [{ n }] = (await db.query(`SELECT count(*)::int AS n FROM gateway.feedback_jobs WHERE id = ANY($1::uuid[]) AND status = 'succeeded'`, [jobIds])).rows;
        return n === JOBS ? n : undefined;
      },
      60_000,
      'every job succeeded',
    );
    expect(finished).toBe(JOBS);
  } finally {
    holding.server.forceShutdown();
    await receiver.close();
    await db.end();
  }
});
