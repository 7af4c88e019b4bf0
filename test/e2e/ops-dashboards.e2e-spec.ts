import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { RATING_MAX_SCORE, serviceMetadata, serviceToken } from '@ragmesh/contracts';
import { CallbackReceiver } from '@ragmesh/testing';
import { startFakeOpenAi, type FakeOpenAi } from '../../tools/fake-openai/src/server';
import { startFakeRay, type FakeRay } from '../../tools/fake-ray/src/server';
import { startPrometheus, type RunningPrometheus, type ScrapeJob } from '../ops/prometheus';
import { authHeaders, E2E_PORTS, pollUntil, rawUnaryCall, ROOT, startMesh, type RunningMesh } from './harness';

interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

// CommonJS helpers shared with the PNG renderer (deploy/grafana/panels.js, render.js).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const panels = require('../../deploy/grafana/panels.js') as {
  panelQueries(): PanelQuery[];
  instantQuery(url: string, expr: string): Promise<unknown[]>;
};

/**
 * Every panel of every provisioned dashboard shows data on a working mesh: Prometheus (Debian's
 * binary, 1 s scrapes, the deployed recording rules) scrapes the six services and a fake vLLM
 * upstream while a short, bounded load runs (documents, search, a registry gRPC call, chat
 * through the upstream and the local engine, ratings that trigger a training run on a fake Ray
 * Jobs server, a bad request, feedback with a callback); then each panel query is evaluated.
 *
 * RAGMESH_DASHBOARD_PNG_DIR=docs/dashboards also renders the dashboards to PNG from this run.
 */
jest.setTimeout(240_000);

/**
 * Panels waiting for a metric that another part of the project has not shipped yet. Each must
 * still be empty: the moment its metric appears the test fails, asking for the entry to go.
 */
const PENDING: Record<string, string> = {};

const RUN = randomUUID().slice(0, 8);
// RAGMESH_OPS_LOAD_ROUNDS lengthens the load for a demo run (longer curves in the PNGs).
const LOAD_ROUNDS = Number(process.env.RAGMESH_OPS_LOAD_ROUNDS ?? 6);
/** Rated turns per training run: the six rounds' ratings start at least one run. */
const EXAMPLES_PER_RUN = 3;
const REGISTRY_ADMIN = `http://127.0.0.1:${E2E_PORTS.registryHttp}`;

let fake: FakeOpenAi;
let ray: FakeRay;
let mesh: RunningMesh;
let prometheus: RunningPrometheus;
let receiver: CallbackReceiver;
const jobIds: string[] = [];

async function gateway(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${mesh.gatewayUrl}${path}`, {
    method,
    headers: authHeaders({ 'content-type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

async function expectStatus(method: string, path: string, body: unknown, status: number): Promise<string> {
  const res = await gateway(method, path, body);
  if (res.status !== status) throw new Error(`${method} ${path} answered ${res.status} (expected ${status}): ${res.text.slice(0, 300)}`);
  return res.text;
}

function scrapeJobs(): ScrapeJob[] {
  const p = E2E_PORTS;
  const target = (port: number): string[] => [`127.0.0.1:${port}`];
  return [
    { job: 'gateway', targets: target(p.gateway) },
    { job: 'retrieval', targets: target(p.retrievalOps) },
    { job: 'generation-proxy', targets: target(p.generationOps) },
    { job: 'model-registry', targets: target(p.registryOps) },
    { job: 'feedback-worker', targets: target(p.feedbackOps) },
    { job: 'summarizer', targets: target(p.summarizerOps) },
    { job: 'vllm', targets: [new URL(fake.url).host] },
  ];
}

async function registryAdmin(method: string, path: string, body: unknown, status: number): Promise<string> {
  const res = await fetch(`${REGISTRY_ADMIN}${path}`, {
    method,
    // The registry's admin token: the mesh's service token unless REGISTRY_ADMIN_TOKEN is set.
    headers: { authorization: `Bearer ${serviceToken()}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== status) throw new Error(`${method} ${path} on the registry answered ${res.status}: ${text.slice(0, 300)}`);
  return text;
}

/** The fake vLLM as a registered upstream, and a training run (with a webhook) every few rated turns. */
async function configureRegistry(): Promise<void> {
  await registryAdmin('POST', '/v1/upstreams', { name: `fake-vllm-${RUN}`, base_url: fake.url, kind: 'openai-compatible', models: ['fake-model'] }, 201);
  await registryAdmin('PUT', '/v1/admin/settings', {
    examples_per_run: EXAMPLES_PER_RUN,
    base_model: 'fake-model',
    min_chars: 2,
    webhooks: [{ url: receiver.url('/hooks'), format: 'slack' }],
  }, 200);
}

/** Rates a turn once it is stored (the answer is committed just after it is sent). */
async function rate(sessionId: string): Promise<void> {
  await pollUntil(
    async () => ((await gateway('POST', `/v1/conversations/${sessionId}/messages/0/rating`, { score: RATING_MAX_SCORE, comment: 'ops load' })).status === 202 ? true : undefined),
    10_000,
    `a rating of ${sessionId}`,
  );
}

async function trainingRunSucceeded(): Promise<true | undefined> {
  const { data } = JSON.parse(await registryAdmin('GET', '/v1/admin/runs', undefined, 200)) as { data: { runs: { status: string }[] } };
  return data.runs.some((r) => r.status === 'succeeded') ? true : undefined;
}

/** ListUpstreams on the registry's gRPC API as another team's client would (empty request, raw bytes). */
async function listUpstreamsOverGrpc(): Promise<void> {
  await rawUnaryCall(E2E_PORTS.registryGrpc, '/ragmesh.v1.ModelRegistryService/ListUpstreams', serviceMetadata()).catch((err: grpc.ServiceError) => {
    throw new Error(`ListUpstreams failed: ${err.message}`);
  });
}

/** One round of traffic through every path the dashboards watch. */
async function loadRound(round: number): Promise<void> {
  await expectStatus('POST', '/v1/documents', {
    id: `ops-${RUN}-${round}`,
    title: `운영 문서 ${round}`,
    format: 'markdown',
    content: `# 제주도 ${round}\n\n한라산은 제주도의 중앙에 있으며 높이는 1947미터이다. 흑돼지는 유명한 향토 음식이다.`,
  }, 201);
  await expectStatus('POST', '/v1/search', { query: '한라산의 높이는?', top_k: 3 }, 200);
  await listUpstreamsOverGrpc();
  // Upstream (the fake vLLM) and the local engine, non-streaming and streaming.
  // A distinct question each round: the registry keeps one example per distinct turn.
  const chat = await expectStatus('POST', '/v1/chat/completions', { messages: [{ role: 'user', content: `한라산의 높이는 얼마인가요? (${round})` }] }, 200);
  await rate((JSON.parse(chat) as { session_id: string }).session_id);
  await expectStatus('POST', '/v1/chat/completions', { model: 'local-extractive', messages: [{ role: 'user', content: '흑돼지는?' }], stream: true }, 200);
  await expectStatus('POST', '/v1/chat/completions', { messages: [{ role: 'user', content: 'hello' }], rag: false, stream: true }, 200);
  // A caller error, so 4xx series exist.
  await expectStatus('POST', '/v1/search', { query: '' }, 400);
  const accepted = await expectStatus('POST', '/v1/feedback', {
    memberId: `member-${round}`,
    startDate: '2024-05-01',
    endDate: [2024, 5, 31, 23, 59, 59],
    activity: { challenges: [{ title: 'Morning run', category: 'fitness', achieved: 18, total: 20 }] },
    callbackUrl: receiver.url(),
  }, 202);
  jobIds.push((JSON.parse(accepted) as { data: { jobId: string } }).data.jobId);
}

beforeAll(async () => {
  fake = await startFakeOpenAi({ port: 0, ttftMs: 20, tokenDelayMs: 2, replyTokens: 12 });
  ray = await startFakeRay({ port: 0, mode: 'succeed', pendingMs: 100, runningMs: 300 });
  receiver = await CallbackReceiver.start();
  mesh = await startMesh({
    GENERATION_UPSTREAMS: fake.url,
    OUTBOUND_ALLOWLIST: '127.0.0.0/8',
    LOG_LEVEL: 'info',
    RAY_JOBS_URL: ray.url,
    REGISTRY_PUBLIC_URL: REGISTRY_ADMIN,
    TRAINING_POLL_MS: '200',
    WEBHOOK_SECRET: `ops-${RUN}`,
    WEBHOOK_RETRY_DELAYS_MS: '200,500',
  });
  prometheus = await startPrometheus(scrapeJobs(), { intervalSeconds: 1, logFile: join(ROOT, '.run', `ops-prometheus-${RUN}.log`) });
  await configureRegistry();
}, 180_000);

afterAll(async () => {
  await prometheus?.stop();
  await mesh?.stop();
  await fake?.close();
  await ray?.close();
  await receiver?.close();
});

interface PanelResult extends PanelQuery {
  series: number;
}

async function evaluateAll(): Promise<PanelResult[]> {
  const queries = panels.panelQueries();
  return Promise.all(
    queries.map(async (q) => ({ ...q, series: (await panels.instantQuery(prometheus.url, q.expr)).length })),
  );
}

it('shows data in every dashboard panel under a short load', async () => {
  for (let round = 0; round < LOAD_ROUNDS; round++) await loadRound(round);
  await receiver.waitForJobs(jobIds, 60_000 + LOAD_ROUNDS * 1000);
  await pollUntil(trainingRunSucceeded, 60_000, 'a training run to succeed');

  // Recording rules and rate windows need a few evaluations after the load. A query counts as
  // showing data once any evaluation returned a series (a gauge may be between samples).
  const seen = new Map<string, PanelResult>();
  const key = (r: PanelQuery): string => `${r.dashboard}\u0000${r.panel}\u0000${r.refId}`;
  let results: PanelResult[] = [];
  const ready = (r: PanelResult): boolean => (seen.get(key(r))?.series ?? 0) > 0 || PENDING[r.panel] !== undefined;
  await pollUntil(
    async () => {
      results = await evaluateAll();
      for (const r of results) if (r.series > 0 || !seen.has(key(r))) seen.set(key(r), r);
      return results.every(ready) ? true : undefined;
    },
    30_000,
    'every panel to show data',
  ).catch(() => undefined);
  results = [...seen.values()];

  // Drawn before the assertions, so a failing run still leaves pictures to look at.
  if (process.env.RAGMESH_DASHBOARD_PNG_DIR) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const render = require('../../deploy/grafana/render.js') as { renderAll(url: string, out: string, minutes: number): Promise<string[]> };
    await render.renderAll(prometheus.url, join(ROOT, process.env.RAGMESH_DASHBOARD_PNG_DIR), 2);
  }

  const empty = results.filter((r) => r.series === 0 && PENDING[r.panel] === undefined);
  expect(empty.map((r) => `${r.dashboard} / ${r.panel} [${r.refId}]: ${r.expr}`)).toEqual([]);

  // A pending panel that shows data now is no longer pending.
  const arrived = results.filter((r) => r.series > 0 && PENDING[r.panel] !== undefined);
  expect(arrived.map((r) => `${r.panel} shows data: remove it from PENDING`)).toEqual([]);

  expect(results.length).toBeGreaterThan(60);
});
