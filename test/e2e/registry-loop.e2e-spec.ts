import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { serviceToken } from '@ragmesh/contracts';
import { CallbackReceiver, type ReceivedCallback } from '@ragmesh/testing';
import { authHeaders, DIST, E2E_PORTS, pollUntil, ROOT, type RunningMesh, startMesh } from './harness';

/**
 * The model registry and the improvement loop over six real processes: an upstream registered
 * over admin REST and followed by the generation proxy, its status, rated answers crossing N,
 * a training run through the fake Ray Jobs server, adapter v1 registered, loaded on the fake
 * vLLM, promoted and rolled back, signed webhooks, and 4xx for bad admin input.
 */
jest.setTimeout(180_000);

const SECRET = 'e2e-webhook-secret';
const MODEL = 'fake-model';
const N = 3;

interface Envelope<T> {
  status: string;
  message: string;
  data: T;
}

interface Tool {
  child: ChildProcess;
  url: string;
}

/** A fake from tools/ as its own process on a free port (it prints `"port":N` when listening). */
function startTool(name: 'fake-openai' | 'fake-ray', env: Record<string, string>): Promise<Tool> {
  const child = spawn(process.execPath, ['-r', join(ROOT, 'scripts', 'register-paths.js'), join(DIST, 'tools', name, 'src', 'main.js')], {
    cwd: ROOT,
    env: { ...process.env, RAGMESH_DIST: DIST, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${out}`)));
    child.stdout?.on('data', (data: Buffer) => {
      out += data.toString();
      const match = /"port":(\d+)/u.exec(out);
      if (match) resolve({ child, url: `http://127.0.0.1:${match[1]}` });
    });
  });
}

function stopTool(tool: Tool | undefined): Promise<void> {
  if (!tool || tool.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    tool.child.once('exit', () => resolve());
    tool.child.kill('SIGTERM');
  });
}

/** What a receiver does with the documented scheme: HMAC-SHA256 over "<timestamp>.<raw body>". */
function verify(hook: Pick<ReceivedCallback, 'headers' | 'body'>): boolean {
  const timestamp = String(hook.headers['x-ragmesh-timestamp']);
  const expected = `v1=${createHmac('sha256', SECRET).update(`${timestamp}.${hook.body}`).digest('hex')}`;
  return hook.headers['x-ragmesh-signature'] === expected;
}

describe('model registry and improvement loop (e2e)', () => {
  let mesh: RunningMesh;
  let fake: Tool;
  let ray: Tool;
  let receiver: CallbackReceiver;
  const admin = `http://127.0.0.1:${E2E_PORTS.registryHttp}`;

  beforeAll(async () => {
    fake = await startTool('fake-openai', { MODEL_ID: MODEL, TOKEN_DELAY_MS: '1' });
    ray = await startTool('fake-ray', { FAKE_RAY_MODE: 'succeed', FAKE_RAY_PENDING_MS: '100', FAKE_RAY_RUNNING_MS: '300' });
    receiver = await CallbackReceiver.start();
    mesh = await startMesh({
      GENERATION_UPSTREAMS_SOURCE: 'registry',
      REGISTRY_WATCH_BACKOFF_MS: '200',
      REGISTRY_POLL_MS: '300',
      TRAINING_POLL_MS: '200',
      RAY_JOBS_URL: ray.url,
      REGISTRY_PUBLIC_URL: admin,
      TRAINING_OUTPUT_DIR: '/shared/adapters',
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_RETRY_DELAYS_MS: '200,500',
      OUTBOUND_ALLOWLIST: '127.0.0.0/8',
    });
  });

  afterAll(async () => {
    await mesh?.stop();
    await Promise.all([stopTool(fake), stopTool(ray), receiver?.close()]);
  });

  const call = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: Envelope<T> }> => {
    const res = await fetch(`${admin}${path}`, {
      method,
      // The registry's admin token is the mesh's service token unless REGISTRY_ADMIN_TOKEN is set.
      headers: { authorization: `Bearer ${serviceToken()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Envelope<T> };
  };
  const until = <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000) => pollUntil(fn, timeoutMs, what);

  /** The model that answered a chat for the base model (the gateway reports the upstream's). */
  const answeredModel = async () => {
    const chat = await fetch(`${mesh.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: authHeaders({ 'content-type': 'application/json' }),
      body: JSON.stringify({ model: MODEL, rag: false, messages: [{ role: 'user', content: 'which adapter answers?' }] }),
    });
    expect(chat.status).toBe(200);
    return ((await chat.json()) as { model: string }).model;
  };

  it('runs the loop end to end', async () => {
    // 1. An upstream registered over admin REST; the registry probes it and the proxy follows the watch.
    const registered = await call('POST', '/v1/admin/upstreams', { name: 'fake-gpu', base_url: fake.url, kind: 'vllm', labels: ['multimodal', 'device=cuda:0'], max_concurrency: 8 });
    expect(registered.status).toBe(201);
    const status = await until('the fake upstream loaded in /v1/admin/models', async () => {
      const res = await call<{ models: { upstream: string; model: string; loaded: boolean; device: string; kv_cache_usage: number | null }[] }>('GET', `/v1/admin/models?model=${MODEL}`);
      return res.body.data.models.find((m) => m.upstream === 'fake-gpu' && m.loaded && m.device === 'cuda:0');
    });
    expect(status.kv_cache_usage).toEqual(expect.any(Number));
    await until('the generation proxy to take the registry list', async () => (mesh.logOf('generation-proxy').includes('upstreams from the registry') ? true : undefined));

    // 2. Answers through the gateway (served by the fake upstream the proxy learned from the registry), each rated 5.
    await call('PUT', '/v1/admin/settings', { examples_per_run: N, base_model: MODEL, min_chars: 2, webhooks: [{ url: receiver.url('/discord'), format: 'discord' }] });
    for (let i = 0; i < N; i++) {
      const chat = await fetch(`${mesh.gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: authHeaders({ 'content-type': 'application/json' }),
        body: JSON.stringify({ model: MODEL, rag: false, messages: [{ role: 'user', content: `question number ${i}: how do refunds work?` }] }),
      });
      expect(chat.status).toBe(200);
      const answer = (await chat.json()) as { choices: { message: { content: string } }[]; model: string };
      expect(answer.choices[0].message.content).toContain('FAKE-UPSTREAM');
      const session = chat.headers.get('x-session-id');
      const rating = await until('the turn to be ratable', async () => {
        const res = await fetch(`${mesh.gatewayUrl}/v1/conversations/${session}/messages/0/rating`, {
          method: 'POST',
          headers: authHeaders({ 'content-type': 'application/json' }),
          body: JSON.stringify({ score: 5, comment: `helpful ${i}` }),
        });
        return res.status === 404 ? undefined : res;
      });
      expect(rating.status).toBe(202);
    }

    // 3. Crossing N starts a run on the fake Ray cluster, which downloads dataset v1 and succeeds.
    const run = await until('a succeeded training run', async () => {
      const res = await call<{ runs: { id: string; status: string; dataset_version: number; metrics: Record<string, unknown> }[] }>('GET', '/v1/admin/runs');
      return res.body.data.runs.find((r) => r.status === 'succeeded');
    });
    expect(run).toMatchObject({ dataset_version: 1, metrics: { train_examples: N } });
    const jobs = (await (await fetch(`${ray.url}/api/jobs/`)).json()) as { status: string; metadata: Record<string, string>; entrypoint: string }[];
    expect(jobs.map((j) => [j.metadata.run_id, j.status])).toEqual([[run.id, 'SUCCEEDED']]);
    // A signed link: the job reads its dataset version without holding the admin token.
    expect(jobs[0].entrypoint).toMatch(new RegExp(`--dataset-url '${admin}/v1/admin/datasets/1/examples\\.jsonl\\?sig=[0-9a-f]{64}'`, 'u'));
    const logs = await call<{ logs: string }>('GET', `/v1/admin/runs/${run.id}/logs`);
    expect(logs.body.data.logs).toContain(`loaded ${N} examples`);

    // 4. Adapter v1: registered with metrics and dataset version, loaded on the fake vLLM.
    const adapters = await call<{ adapters: { id: string; name: string; version: number; dataset_version: number; is_default: boolean }[] }>('GET', '/v1/admin/adapters');
    const v1 = adapters.body.data.adapters[0];
    expect(v1).toMatchObject({ name: 'ragmesh-lora-v1', version: 1, dataset_version: 1, is_default: false });
    await until('adapter v1 on the fake upstream', async () => {
      const models = ((await (await fetch(`${fake.url}/v1/models`)).json()) as { data: { id: string; parent: string | null }[] }).data;
      return models.find((m) => m.id === 'ragmesh-lora-v1' && m.parent === MODEL);
    });

    // 5. Promote, then roll back to the base model.
    const promoted = await call<{ adapter: { is_default: boolean } }>('POST', `/v1/admin/adapters/${v1.id}/promote`, {});
    expect(promoted.status).toBe(200);
    expect(promoted.body.data.adapter.is_default).toBe(true);
    // The proxy follows the registry's default adapters: a chat for the base model is answered by v1 (the fake echoes the model it was asked for).
    await until('a chat for the base model answered by adapter v1', async () => ((await answeredModel()) === 'ragmesh-lora-v1' ? true : undefined));
    const rolledBack = await call<{ from: { name: string }; to: null }>('POST', '/v1/admin/adapters/rollback', { base_model: MODEL });
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.body.data).toMatchObject({ from: { name: 'ragmesh-lora-v1' }, to: null });
    await until('a chat for the base model answered by the base model again', async () => ((await answeredModel()) === MODEL ? true : undefined));

    // 6. The completion webhook arrived, Discord-shaped and signed.
    const hook = await until('the run webhook', async () => receiver.requests().find((h) => h.headers['x-ragmesh-event'] === 'training.run.succeeded'));
    expect(verify(hook)).toBe(true);
    expect(verify({ ...hook, body: hook.body.replace('ragmesh-lora-v1', 'ragmesh-lora-v2') })).toBe(false);
    expect(JSON.parse(hook.body)).toMatchObject({ content: expect.stringContaining('ragmesh-lora-v1'), embeds: [expect.objectContaining({ title: expect.any(String) })] });

    const events = await call<{ events: { type: string }[] }>('GET', '/v1/admin/events?limit=500');
    expect(events.body.data.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['model.status.changed', 'training.run.started', 'training.run.succeeded', 'adapter.registered', 'adapter.loaded', 'adapter.promoted', 'adapter.rolled_back', 'webhook.delivered']),
    );
  });

  it('answers bad input on admin endpoints and the rating endpoint with a 4xx naming the field', async () => {
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/v1/admin/upstreams', { name: 'x', base_url: 'nope', kind: 'vllm' }, 400, 'base_url'],
      ['PATCH', '/v1/admin/upstreams/fake-gpu', { max_concurrency: -1 }, 400, 'max_concurrency'],
      ['DELETE', '/v1/admin/upstreams/missing-one', undefined, 404, 'missing-one'],
      ['GET', '/v1/admin/models?model=', undefined, 400, 'model'],
      ['PUT', '/v1/admin/settings', { examples_per_run: 'ten' }, 400, 'examples_per_run'],
      ['PATCH', '/v1/admin/settings', { auto_train: 'yes' }, 400, 'auto_train'],
      ['POST', '/v1/admin/runs', { force: 1 }, 400, 'force'],
      ['GET', '/v1/admin/runs?offset=-3', undefined, 400, 'offset'],
      ['GET', '/v1/admin/runs/123/logs', undefined, 400, 'id'],
      ['POST', '/v1/admin/runs/00000000-0000-4000-8000-000000000000/stop', {}, 404, 'does not exist'],
      ['GET', '/v1/admin/events?limit=100000', undefined, 400, 'limit'],
      ['GET', '/v1/admin/examples?dataset_version=x', undefined, 400, 'dataset_version'],
      ['DELETE', '/v1/admin/examples/nope', undefined, 400, 'id'],
      ['POST', '/v1/admin/adapters/rollback', { base_model: '' }, 400, 'base_model'],
      ['POST', '/v1/admin/adapters/ragmesh-lora-v1/promote', { now: true }, 400, 'now'],
      ['POST', '/v1/admin/adapters/ragmesh-lora-v7/load', {}, 404, 'does not exist'],
    ];
    for (const [method, path, body, expected, field] of cases) {
      const res = await call(method, path, body);
      expect({ method, path, status: res.status }).toEqual({ method, path, status: expected });
      expect(`${res.body.message} ${JSON.stringify(res.body.data)}`).toContain(field);
    }
    const rating = await fetch(`${mesh.gatewayUrl}/v1/conversations/not-a-uuid/messages/0/rating`, {
      method: 'POST',
      headers: authHeaders({ 'content-type': 'application/json' }),
      body: JSON.stringify({ score: 9 }),
    });
    expect(rating.status).toBe(400);
    expect(JSON.stringify(await rating.json())).toContain('id');
  });
});
