import type { registry } from '@ragmesh/contracts';
// The fake upstream is a dev tool, not a lib; only tests reach for it.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { FakeOpenAi, startFakeOpenAi } from '../../../../tools/fake-openai/src/server';
import { FakeRegistry, fakeRegistry } from '../../test/fake-registry';
import { BootedProxy, bootProxy, eventually, runStream } from '../../test/proxy-harness';

jest.setTimeout(30_000);

const BASE = 'fake-model';

const upstreamOf = (fake: FakeOpenAi): registry.Upstream => ({
  id: 'id-gpu-a',
  name: 'gpu-a',
  baseUrl: fake.url,
  kind: 'vllm',
  models: [BASE],
  status: 'up',
  lastError: '',
  checkedAt: '',
  weight: 1,
  maxConcurrency: 0,
  labels: [],
  updatedAt: '',
});

async function loadLora(fake: FakeOpenAi, name: string): Promise<void> {
  const res = await fetch(`${fake.url}/v1/load_lora_adapter`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ lora_name: name, lora_path: `/adapters/${name}` }),
  });
  expect(res.status).toBe(200);
}

/** The model the final chunk reports: the one the upstream answered as. */
async function answeredBy(booted: BootedProxy, model: string): Promise<string> {
  const { chunks, error } = await runStream(booted.client, { model }).result;
  expect(error).toBeUndefined();
  const final = chunks.find((c) => c.finishReason !== '');
  expect(final?.usage?.totalTokens).toBeGreaterThan(0);
  return final?.model ?? '';
}

describe('generation-proxy routes a base model to its promoted adapter (registry watch → real fake vLLM with LoRA)', () => {
  let fake: FakeOpenAi;
  let registryServer: FakeRegistry;
  let booted: BootedProxy;
  let revision = 0;
  const defaults = (map: Record<string, string>) => registryServer.push({ type: 'defaults', upstreams: [], revision: ++revision, defaultAdapters: map });

  beforeAll(async () => {
    fake = await startFakeOpenAi({ port: 0, modelId: BASE, tokenDelayMs: 1, replyTokens: 3 });
    registryServer = await fakeRegistry(0, () => ({ type: 'snapshot', upstreams: [upstreamOf(fake)], revision: 0, defaultAdapters: {} }));
    // The registry feed reads its settings from the process environment (registryFeedProvider).
    Object.assign(process.env, { GENERATION_UPSTREAMS_SOURCE: 'registry', REGISTRY_GRPC_URL: `127.0.0.1:${registryServer.port}` });
    booted = await bootProxy({ GENERATION_UPSTREAM_MODEL: BASE });
  });

  afterAll(async () => {
    delete process.env.GENERATION_UPSTREAMS_SOURCE;
    delete process.env.REGISTRY_GRPC_URL;
    await booted?.close();
    registryServer?.stop();
    await fake?.close();
  });

  it('after promote the adapter answers requests for the base model; after rollback the earlier one; explicit names are untouched', async () => {
    // The registry's snapshot reaches the pool: the base model answers as itself.
    await eventually(async () => (await runStream(booted.client, { model: BASE }).result).error === undefined);
    expect(await answeredBy(booted, BASE)).toBe(BASE);

    // The registry loads v1 and v2 on the upstream (vLLM's dynamic LoRA endpoint), then promotes v2.
    await loadLora(fake, 'ragmesh-lora-v1');
    await loadLora(fake, 'ragmesh-lora-v2');
    defaults({ [BASE]: 'ragmesh-lora-v2' });
    await eventually(async () => (await answeredBy(booted, BASE)) === 'ragmesh-lora-v2');
    for (let i = 0; i < 3; i++) expect(await answeredBy(booted, BASE)).toBe('ragmesh-lora-v2');
    expect(await answeredBy(booted, 'ragmesh-lora-v1')).toBe('ragmesh-lora-v1');

    // Rollback: the earlier version is routed to.
    defaults({ [BASE]: 'ragmesh-lora-v1' });
    await eventually(async () => (await answeredBy(booted, BASE)) === 'ragmesh-lora-v1');
    expect(await answeredBy(booted, 'ragmesh-lora-v2')).toBe('ragmesh-lora-v2');

    // A default that no upstream has loaded: the base model answers rather than a 404.
    defaults({ [BASE]: 'ragmesh-lora-v3' });
    await eventually(async () => (await answeredBy(booted, BASE)) === BASE);
    expect(fake.stats.completed).toBeGreaterThanOrEqual(10);
  });
});
