import * as grpc from '@grpc/grpc-js';
import { registry } from '@ragmesh/contracts';
import { Messaging } from '@ragmesh/messaging';
import { CallbackReceiver, type ReceivedCallback } from '@ragmesh/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
// The fakes are dev tools, not libs; only tests reach for them.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { FakeOpenAi, startFakeOpenAi } from '../../../../tools/fake-openai/src/server';
// eslint-disable-next-line @nx/enforce-module-boundaries
import { FakeRay, startFakeRay } from '../../../../tools/fake-ray/src/server';
import { RunningModelRegistry, startModelRegistry } from '../app';
import { loadAppConfig } from '../config';
import { Callback, eventually, freePort, registryClient, unary } from '../../test/it-helpers';
import { signWebhook } from './webhooks';

jest.setTimeout(60_000);

type RegistryClient = {
  watchUpstreams(req: object): grpc.ClientReadableStream<registry.UpstreamsChange>;
  getModelStatus(req: Partial<registry.GetModelStatusRequest>, cb: Callback<registry.GetModelStatusResponse>): grpc.ClientUnaryCall;
  updateUpstream(req: Partial<registry.UpdateUpstreamRequest>, cb: Callback<registry.Upstream>): grpc.ClientUnaryCall;
  removeUpstream(req: Partial<registry.RemoveUpstreamRequest>, cb: Callback<registry.RemoveUpstreamResponse>): grpc.ClientUnaryCall;
};

interface Body<T> {
  status: string;
  message: string;
  data: T;
}

interface RunJson {
  id: string;
  status: string;
  attempt: number;
  dataset_version: number;
  adapter_id: string | null;
  metrics: Record<string, unknown> | null;
  last_error: string | null;
}

interface AdapterJson {
  id: string;
  name: string;
  version: number;
  is_default: boolean;
  dataset_version: number;
  metrics: Record<string, unknown>;
}

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh';
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const run = randomBytes(4).toString('hex');
const schema = `registry_loop_${run}`;
const SECRET = 'it-webhook-secret';
const ADMIN_TOKEN = `it-admin-${run}`;
const BASE = 'base-m';

describe('the improvement loop against PostgreSQL, RabbitMQ, a fake vLLM and a fake Ray cluster', () => {
  let fake: FakeOpenAi;
  let ray: FakeRay;
  let receiver: CallbackReceiver;
  let hookUrl: string;
  let app: RunningModelRegistry;
  let http: string;
  let client: RegistryClient & grpc.Client;
  let publisher: Messaging;

  beforeAll(async () => {
    fake = await startFakeOpenAi({ port: 0, modelId: BASE, tokenDelayMs: 1 });
    ray = await startFakeRay({ pendingMs: 50, runningMs: 200 });
    receiver = await CallbackReceiver.start();
    hookUrl = receiver.url('/hooks/slack');

    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    app = await startModelRegistry(
      loadAppConfig({
        DATABASE_URL,
        AMQP_URL,
        LOG_LEVEL: process.env.REGISTRY_IT_LOG_LEVEL ?? 'silent',
        REGISTRY_GRPC_PORT: String(grpcPort),
        REGISTRY_HTTP_PORT: String(httpPort),
        OPS_PORT: '0',
        REGISTRY_POLL_MS: '150',
        TRAINING_POLL_MS: '100',
        RAY_JOBS_URL: ray.url,
        REGISTRY_PUBLIC_URL: `http://127.0.0.1:${httpPort}`,
        TRAINING_OUTPUT_DIR: '/shared/adapters',
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_RETRY_DELAYS_MS: '50,50',
        OUTBOUND_ALLOWLIST: '127.0.0.0/8',
        REGISTRY_ADMIN_TOKEN: ADMIN_TOKEN,
      }),
      { schema },
    );
    http = `http://127.0.0.1:${app.httpPort}`;
    client = registryClient<RegistryClient>(`127.0.0.1:${grpcPort}`);
    publisher = new Messaging({ url: AMQP_URL, service: 'registry-loop-it' });
    await publisher.connect();
  });

  afterAll(async () => {
    client?.close();
    await publisher?.close();
    await app?.close();
    await Promise.all([fake?.close(), ray?.close(), receiver?.close()]);
    const pg = new Client({ connectionString: DATABASE_URL });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pg.end();
  });

  const call = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: Body<T> }> => {
    const res = await fetch(`${http}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Body<T> };
  };
  const rate = (question: string, answer: string, score: number, conversationId = randomUUID()) =>
    publisher.publish('conversation.rated', { conversationId, turnIndex: 0, question, answer, model: BASE, score, ratedAt: new Date().toISOString() });
  const runs = async () => (await call<{ runs: RunJson[] }>('GET', '/v1/admin/runs')).body.data.runs;
  const adapters = async () => (await call<{ adapters: AdapterJson[] }>('GET', '/v1/admin/adapters')).body.data.adapters;
  const examples = async (query = '') => (await call<{ examples: { id: string; question: string; answer: string; state: string; dataset_version: number | null }[] }>('GET', `/v1/admin/examples${query}`)).body.data.examples;
  const events = async () => (await call<{ events: { type: string; subject: string; data: Record<string, unknown> }[] }>('GET', '/v1/admin/events?limit=500')).body.data.events;
  /** Deliveries the receiver accepted (2xx). */
  const hooks = (): ReceivedCallback[] => receiver.requests().filter((r) => r.status < 300);
  const fakeModels = async () => ((await (await fetch(`${fake.url}/v1/models`)).json()) as { data: { id: string }[] }).data.map((m) => m.id);

  it('streams upstream changes over WatchUpstreams: a snapshot, then register, update and remove', async () => {
    const stream = client.watchUpstreams({});
    const seen: registry.UpstreamsChange[] = [];
    stream.on('data', (c: registry.UpstreamsChange) => seen.push(c));
    stream.on('error', () => undefined);
    await eventually(async () => seen.length, (n) => n >= 1);
    expect(seen[0].type).toBe('snapshot');
    expect(seen[0].upstreams.map((u) => u.name)).toContain('local');

    const registered = await call<{ upstream: { name: string; weight: number; labels: string[] } }>('POST', '/v1/admin/upstreams', {
      name: 'gpu-a',
      base_url: fake.url,
      kind: 'vllm',
      weight: 2,
      max_concurrency: 8,
      labels: ['multimodal'],
    });
    expect(registered.status).toBe(201);
    expect(registered.body.data.upstream).toMatchObject({ name: 'gpu-a', weight: 2, max_concurrency: 8, labels: ['multimodal'] });
    const updated = await unary<registry.Upstream>((cb) => client.updateUpstream({ name: 'gpu-a', weight: 3, labels: ['multimodal', 'device=cuda:0'], setLabels: true }, cb));
    expect(updated).toMatchObject({ name: 'gpu-a', weight: 3, maxConcurrency: 8, labels: ['multimodal', 'device=cuda:0'] });
    await call('POST', '/v1/admin/upstreams', { name: 'gone-soon', base_url: 'http://127.0.0.1:9', kind: 'vllm' });
    expect((await unary<registry.RemoveUpstreamResponse>((cb) => client.removeUpstream({ name: 'gone-soon' }, cb))).removed).toBe(true);

    await eventually(async () => seen.map((c) => `${c.type}:${c.upstreams[0]?.name}`), (s) => s.includes('removed:gone-soon'));
    // The watcher's own status flips (unknown → up/down) may interleave; the operator's changes arrive in order.
    const changes = seen.slice(1);
    const kinds = changes.map((c) => `${c.type}:${c.upstreams[0].name}`);
    expect(kinds.indexOf('upserted:gpu-a')).toBeLessThan(kinds.indexOf('upserted:gone-soon'));
    expect(kinds.indexOf('upserted:gone-soon')).toBeLessThan(kinds.indexOf('removed:gone-soon'));
    expect(changes.some((c) => c.type === 'upserted' && c.upstreams[0].name === 'gpu-a' && c.upstreams[0].weight === 3)).toBe(true);
    expect(seen.slice(1).map((c) => Number(c.revision))).toEqual([...seen.slice(1).map((c) => Number(c.revision))].sort((a, b) => a - b));
    stream.cancel();

    const missing = await unary((cb) => client.removeUpstream({ name: 'never-there' }, cb)).catch((e: grpc.ServiceError) => e);
    expect((missing as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
    const bad = await unary((cb) => client.updateUpstream({ name: 'gpu-a', weight: -1 }, cb)).catch((e: grpc.ServiceError) => e);
    expect((bad as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((bad as grpc.ServiceError).details).toMatch(/^weight: must be greater than 0/u);
  });

  it('keeps per-model status from /health, /v1/models and /metrics, over REST and gRPC', async () => {
    const status = await eventually(
      async () => (await call<{ models: Record<string, unknown>[] }>('GET', `/v1/admin/models?model=${BASE}`)).body.data.models,
      (m) => m.some((x) => x.upstream === 'gpu-a' && x.loaded === true && x.device === 'cuda:0'),
    );
    const row = status.find((x) => x.upstream === 'gpu-a');
    expect(row).toMatchObject({ kind: 'base', loaded: true, device: 'cuda:0', kv_cache_usage: 0, running_requests: 0, waiting_requests: 0, last_error: null });
    expect(typeof row?.loaded_at).toBe('string');
    const grpcStatus = await unary<registry.GetModelStatusResponse>((cb) => client.getModelStatus({}, cb));
    expect(grpcStatus.models.find((m) => m.model === BASE && m.upstream === 'gpu-a')).toMatchObject({ kind: 'base', loaded: true, device: 'cuda:0' });
    expect(grpcStatus.models.find((m) => m.kind === 'embedding')).toMatchObject({ model: 'local-hashing-embedder', loaded: true, isDefault: true });
    expect(grpcStatus.models.find((m) => m.model === 'local-extractive')).toMatchObject({ upstream: 'local', kind: 'base', loaded: true, device: 'cpu' });
    const tooLong = await unary((cb) => client.getModelStatus({ model: 'm'.repeat(300) }, cb)).catch((e: grpc.ServiceError) => e);
    expect((tooLong as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    // The status change travelled the bus into the event log.
    await eventually(events, (e) => e.some((x) => x.type === 'model.status.changed' && x.subject === `gpu-a/${BASE}`));
  });

  it('collects filtered examples, trains every N through Ray, registers, loads, promotes and rolls back an adapter, with signed webhooks', async () => {
    const settings = await call<{ settings: Record<string, unknown> }>('PUT', '/v1/admin/settings', {
      examples_per_run: 3,
      base_model: BASE,
      min_chars: 5,
      webhooks: [{ url: hookUrl, format: 'slack' }],
    });
    expect(settings.status).toBe(200);
    expect(settings.body.data.settings).toMatchObject({ examples_per_run: 3, auto_train: true, base_model: BASE });

    await rate('How do I reset my password?', 'Open settings, then choose Security and Reset.', 5);
    await rate('Is this answer bad?', 'Yes it was not helpful at all.', 1);
    await rate('How do I reset my password?', 'Open settings, then choose Security and Reset.', 4);
    await rate('Where do invoices go?', 'They are e-mailed to billing@example.com each month.', 5);
    await eventually(examples, (e) => e.length === 2);
    const scrubbed = (await examples()).find((e) => e.question.startsWith('Where'));
    expect(scrubbed?.answer).toBe('They are e-mailed to [REDACTED] each month.');
    expect(await runs()).toEqual([]);

    await rate('동기화는 어떻게 하나요?', '설정에서 동기화 버튼을 누르세요.', 5);
    const succeeded = await eventually(runs, (r) => r[0]?.status === 'succeeded', 20_000);
    expect(succeeded[0]).toMatchObject({ attempt: 1, dataset_version: 1, metrics: { train_loss: 0.42, train_examples: 3 } });
    const job = [...ray.jobs.values()][0];
    expect(job.entrypoint).toContain(`--base-model '${BASE}'`);
    expect(job.entrypoint).toContain(`--output-dir '/shared/adapters/${succeeded[0].id}'`);
    expect(job.metadata).toMatchObject({ run_id: succeeded[0].id, dataset_version: '1' });
    expect((await examples('?state=trained')).length).toBe(3);

    const [v1] = await adapters();
    expect(v1).toMatchObject({ name: 'ragmesh-lora-v1', version: 1, dataset_version: 1, is_default: false, metrics: { train_loss: 0.42 } });
    // auto_load: vLLM's load endpoint was called on the upstream serving the base model.
    await eventually(fakeModels, (m) => m.includes('ragmesh-lora-v1'));
    const adapterStatus = await eventually(
      async () => (await call<{ models: Record<string, unknown>[] }>('GET', '/v1/admin/models?model=ragmesh-lora-v1')).body.data.models,
      (m) => m[0]?.loaded === true,
    );
    expect(adapterStatus[0]).toMatchObject({ kind: 'adapter', base_model: BASE, upstream: 'gpu-a' });
    expect(adapterStatus[0].load_duration_seconds).toEqual(expect.any(Number));

    const [hook] = await eventually(async () => hooks(), (h) => h.length >= 1);
    const timestamp = String(hook.headers['x-ragmesh-timestamp']);
    expect(hook.headers['x-ragmesh-signature']).toBe(signWebhook(SECRET, timestamp, hook.body));
    expect(hook.headers['x-ragmesh-event']).toBe('training.run.succeeded');
    const payload = JSON.parse(hook.body) as { text: string; ragmesh: Record<string, string> };
    expect(payload.text).toContain('ragmesh-lora-v1');
    expect(payload.ragmesh).toMatchObject({ event: 'training.run.succeeded', adapter: 'ragmesh-lora-v1', run_id: succeeded[0].id });

    // The generation-proxy routes by the default adapters the watch carries: snapshot, then one message per promote/rollback.
    const watch = client.watchUpstreams({});
    const defaults: Record<string, string>[] = [];
    watch.on('data', (c: registry.UpstreamsChange) => {
      if (c.type === 'snapshot' || c.type === 'defaults') defaults.push({ ...c.defaultAdapters });
    });
    watch.on('error', () => undefined);
    await eventually(async () => defaults, (d) => d.length >= 1);
    const promoted = await call<{ adapter: AdapterJson }>('POST', `/v1/admin/adapters/${v1.id}/promote`);
    expect(promoted.status).toBe(200);
    expect(promoted.body.data.adapter.is_default).toBe(true);
    const status = await call<{ default_adapters: AdapterJson[]; last_promotion_at: string | null }>('GET', '/v1/admin/status');
    expect(status.body.data.default_adapters.map((a) => a.name)).toEqual(['ragmesh-lora-v1']);
    expect(status.body.data.last_promotion_at).not.toBeNull();

    expect((await call('POST', `/v1/admin/adapters/${v1.name}/unload`)).status).toBe(409);

    const rolledBack = await call<{ from: AdapterJson; to: AdapterJson | null }>('POST', '/v1/admin/adapters/rollback', { base_model: BASE });
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.body.data).toMatchObject({ from: { name: 'ragmesh-lora-v1' }, to: null });
    expect((await adapters())[0].is_default).toBe(false);
    await eventually(async () => defaults, (d) => d.length >= 3);
    watch.cancel();
    expect(defaults).toEqual([{}, { [BASE]: 'ragmesh-lora-v1' }, {}]);
    const unloaded = await call<{ loads: { upstream: string; ok: boolean }[] }>('POST', `/v1/admin/adapters/${v1.name}/unload`);
    expect(unloaded.body.data.loads).toEqual([expect.objectContaining({ upstream: 'gpu-a', ok: true })]);
    expect(await fakeModels()).not.toContain('ragmesh-lora-v1');

    const types = (await events()).map((e) => e.type);
    for (const t of ['training.run.started', 'training.run.succeeded', 'adapter.registered', 'adapter.loaded', 'adapter.promoted', 'adapter.rolled_back', 'webhook.delivered']) {
      expect(types).toContain(t);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${app.opsPort}/metrics`)).text();
    expect(metrics).toMatch(/ragmesh_registry_examples_total\{[^}]*outcome="accepted"[^}]*\} 3/u);
    expect(metrics).toMatch(/ragmesh_registry_examples_total\{[^}]*outcome="low_score"[^}]*\} 1/u);
    expect(metrics).toMatch(/ragmesh_registry_examples_total\{[^}]*outcome="duplicate"[^}]*\} 1/u);
    expect(metrics).toMatch(/ragmesh_registry_training_runs_total\{[^}]*outcome="succeeded"[^}]*\} 1/u);
    expect(metrics).toMatch(/ragmesh_registry_training_duration_seconds_bucket\{le="60"[^}]*\} 1/u);
    expect(metrics).toMatch(/ragmesh_registry_time_since_last_promotion_seconds\{[^}]*\} \d/u);
  });

  it('coalesces examples that arrive during a run, retries a failed run up to the limit, then reports it', async () => {
    ray.setMode('fail');
    // The failure webhook's first attempt is answered 503, so the retry path is exercised.
    receiver.respondWith(503);
    receiver.onDelivery((d) => {
      // After this answer is written (the receiver answers once its listeners have run).
      if (d.status === 503) setImmediate(() => receiver.respondWith(200));
    });
    await call('PATCH', '/v1/admin/settings', { max_retries: 1, auto_train: false });
    await rate('What is the refund window?', 'Refunds are accepted within 30 days.', 5);
    await eventually(() => examples('?state=pending'), (e) => e.length === 1);
    const started = await call<{ run: RunJson }>('POST', '/v1/admin/runs');
    expect(started.status).toBe(201);
    // Arrives while the run is active: stays pending, nothing is dropped.
    await rate('Can I change my plan?', 'Yes, from the billing page at any time.', 5);
    await eventually(examples, (e) => e.some((x) => x.question.startsWith('Can I') && x.state === 'pending'));
    expect((await call('POST', '/v1/admin/runs')).status).toBe(409);

    const failed = await eventually(async () => (await call<{ run: RunJson }>('GET', `/v1/admin/runs/${started.body.data.run.id}`)).body.data.run, (r) => r.status === 'failed', 20_000);
    expect(failed.attempt).toBe(2);
    expect(failed.last_error).toContain('CUDA out of memory');
    const logs = await call<{ logs: string }>('GET', `/v1/admin/runs/${failed.id}/logs`);
    expect(logs.body.data.logs).toContain('loaded 1 examples');
    // Both examples are pending again and go into the next run together.
    expect((await examples('?state=pending')).map((e) => e.question).sort()).toEqual(['Can I change my plan?', 'What is the refund window?']);
    const failHook = await eventually(async () => hooks().filter((h) => h.headers['x-ragmesh-event'] === 'training.run.failed'), (h) => h.length === 1);
    expect(failHook[0].headers['x-ragmesh-signature']).toBe(signWebhook(SECRET, String(failHook[0].headers['x-ragmesh-timestamp']), failHook[0].body));
    const delivered = await eventually(events, (e) => e.some((x) => x.type === 'webhook.delivered' && x.data.event === 'training.run.failed'));
    expect(delivered.find((x) => x.type === 'webhook.delivered' && x.data.event === 'training.run.failed')?.data.attempts).toBe(2);
    expect((await events()).map((e) => e.type)).toEqual(expect.arrayContaining(['training.run.retried', 'training.run.failed']));

    ray.setMode('succeed');
    const next = await call<{ run: RunJson }>('POST', '/v1/admin/runs');
    expect(next.body.data.run.dataset_version).toBe(3);
    await eventually(runs, (r) => r[0]?.status === 'succeeded', 20_000);
    expect((await adapters()).map((a) => a.name)).toEqual(['ragmesh-lora-v2', 'ragmesh-lora-v1']);
    expect((await examples('?dataset_version=3')).length).toBe(2);
  });

  it('deletes an example keeping a backup, and answers bad admin input with 4xx naming the field', async () => {
    const [first] = await examples();
    const deleted = await call('DELETE', `/v1/admin/examples/${first.id}`);
    expect(deleted.status).toBe(200);
    expect((await examples()).map((e) => e.id)).not.toContain(first.id);
    const status = await call<{ examples: { deleted: number } }>('GET', '/v1/admin/status');
    expect(status.body.data.examples.deleted).toBe(1);

    const cases: [string, string, unknown, number, RegExp][] = [
      ['PUT', '/v1/admin/settings', { examples_per_run: 0 }, 400, /examples_per_run/u],
      ['PUT', '/v1/admin/settings', { pii_patterns: ['(unclosed'] }, 400, /pii_patterns\[0\]/u],
      ['PUT', '/v1/admin/settings', { webhooks: [{ url: 'http://10.1.2.3/x', format: 'slack' }] }, 400, /webhooks\[0\]\.url/u],
      ['PUT', '/v1/admin/settings', { surprise: true }, 400, /surprise/u],
      ['PUT', '/v1/admin/settings', { min_chars: 50, max_chars: 10 }, 400, /min_chars/u],
      ['GET', '/v1/admin/runs?limit=0', undefined, 400, /limit/u],
      ['GET', '/v1/admin/runs?status=exploded', undefined, 400, /status/u],
      ['GET', '/v1/admin/runs/not-a-uuid', undefined, 400, /id/u],
      ['GET', `/v1/admin/runs/${randomUUID()}`, undefined, 404, /does not exist/u],
      ['POST', `/v1/admin/runs/${randomUUID()}/stop`, {}, 404, /does not exist/u],
      ['POST', '/v1/admin/runs', { now: true }, 400, /now/u],
      ['GET', '/v1/admin/events?after=-1', undefined, 400, /after/u],
      ['GET', '/v1/admin/examples?state=odd', undefined, 400, /state/u],
      ['DELETE', '/v1/admin/examples/123', undefined, 400, /id/u],
      ['DELETE', `/v1/admin/examples/${first.id}`, undefined, 404, /does not exist/u],
      ['GET', '/v1/admin/datasets/zero/examples.jsonl', undefined, 400, /version/u],
      ['POST', '/v1/admin/adapters/rollback', {}, 400, /base_model/u],
      ['POST', '/v1/admin/adapters/rollback', { base_model: BASE, to_version: 'two' }, 400, /to_version/u],
      ['POST', '/v1/admin/adapters/rollback', { base_model: 'no-such-model' }, 409, /no promoted adapter/u],
      ['POST', '/v1/admin/adapters/ragmesh-lora-v9/promote', {}, 404, /does not exist/u],
      ['GET', '/v1/admin/adapters/bad%20id!', undefined, 400, /id/u],
      ['GET', '/v1/admin/models?model=', undefined, 400, /model/u],
      ['PATCH', '/v1/admin/upstreams/gpu-a', { weight: 'heavy' }, 400, /weight/u],
      ['PATCH', '/v1/admin/upstreams/nobody', { weight: 1 }, 404, /does not exist/u],
      ['DELETE', '/v1/admin/upstreams/NOT%20OK', undefined, 400, /name/u],
    ];
    for (const [method, path, body, expected, field] of cases) {
      const res = await call<{ errors?: { field: string }[] }>(method, path, body);
      expect({ method, path, status: res.status }).toEqual({ method, path, status: expected });
      expect(res.body.status).toBe('error');
      expect(`${res.body.message} ${JSON.stringify(res.body.data)}`).toMatch(field);
    }
  });
});
