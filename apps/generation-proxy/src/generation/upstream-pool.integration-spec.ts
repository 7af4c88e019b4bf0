import * as grpc from '@grpc/grpc-js';
import { generation, serviceTokenInterceptor } from '@ragmesh/contracts';
// The fake upstream is a dev tool, not a lib; only tests reach for it.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { FakeOpenAi, startFakeOpenAi } from '../../../../tools/fake-openai/src/server';
import { RunningGenerationProxy, startGenerationProxy } from '../app';
import { loadAppConfig } from '../config';
import { freePort, GenerationService, type GenerationClient } from '../../test/proxy-harness';

jest.setTimeout(30_000);

interface StreamResult {
  text: string;
  chunks: generation.GenerateChunk[];
  error?: grpc.ServiceError;
}

/** Collects the stream; an error is returned with the text that arrived before it. */
function run(client: GenerationClient, sessionId?: string): Promise<StreamResult> {
  const call = client.generateStream(
    { messages: [{ role: 'user', content: 'hi' }], ...(sessionId ? { sessionId } : {}) },
    new grpc.Metadata(),
    { deadline: new Date(Date.now() + 10_000) },
  );
  const chunks: generation.GenerateChunk[] = [];
  return new Promise((resolve) => {
    call.on('data', (c: generation.GenerateChunk) => chunks.push(c));
    call.on('error', (error: grpc.ServiceError) => resolve({ text: chunks.map((c) => c.delta).join(''), chunks, error }));
    call.on('end', () => resolve({ text: chunks.map((c) => c.delta).join(''), chunks }));
  });
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const FULL_REPLY = 'tok1 tok2 tok3 tok4 tok5 tok6';

describe('generation-proxy with a pool of two upstreams', () => {
  let a: FakeOpenAi;
  let b: FakeOpenAi;
  let proxy: RunningGenerationProxy;
  let client: GenerationClient;

  async function boot(env: Record<string, string> = {}): Promise<void> {
    const port = await freePort();
    const config = loadAppConfig({
      LOG_LEVEL: 'silent',
      GENERATION_GRPC_PORT: String(port),
      OPS_PORT: '0',
      GENERATION_UPSTREAMS: `${a.url}/v1,${b.url}`,
      GENERATION_UPSTREAM_MODEL: 'fake-model',
      GENERATION_HEALTH_INTERVAL_MS: '0',
      ...env,
    });
    proxy = await startGenerationProxy(config);
    client = new GenerationService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { interceptors: [serviceTokenInterceptor()] }) as unknown as GenerationClient;
  }

  const metrics = async () => (await fetch(`http://127.0.0.1:${proxy.opsPort}/metrics`)).text();
  const label = (fake: FakeOpenAi) => `127.0.0.1:${fake.port}`;

  beforeEach(async () => {
    a = await startFakeOpenAi({ tokenDelayMs: 5, replyTokens: 6 });
    b = await startFakeOpenAi({ tokenDelayMs: 5, replyTokens: 6 });
  });
  afterEach(async () => {
    client?.close();
    await proxy?.close();
    await a.close();
    await b.close();
  });

  it('spreads concurrent requests over both upstreams', async () => {
    await boot();
    const results = await Promise.all(Array.from({ length: 8 }, () => run(client)));
    expect(results.map((r) => r.error)).toEqual(Array(8).fill(undefined));
    expect(results.every((r) => r.text === FULL_REPLY)).toBe(true);
    expect(a.stats.requests).toBeGreaterThan(0);
    expect(b.stats.requests).toBeGreaterThan(0);
    expect(a.stats.requests + b.stats.requests).toBe(8);
    expect(await metrics()).toMatch(new RegExp(`ragmesh_generation_upstream_in_flight\\{upstream="${label(a)}"[^}]*\\} 0`, 'u'));
  });

  it('keeps a session on the same upstream', async () => {
    await boot();
    for (let i = 0; i < 5; i++) expect((await run(client, 'conversation-1')).error).toBeUndefined();
    expect([a.stats.requests, b.stats.requests].sort()).toEqual([0, 5]);
  });

  it('moves traffic off a refusing upstream with no client error', async () => {
    await boot({ GENERATION_BREAKER_FAILURES: '2' });
    a.setMode('refuse');
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => run(client, `s-${i}`)));
    expect(results.map((r) => r.error?.details)).toEqual(Array(6).fill(undefined));
    expect(results.every((r) => r.text === FULL_REPLY)).toBe(true);
    expect(a.stats.requests).toBeGreaterThan(0);
    expect(b.stats.requests).toBe(6);
    const text = await metrics();
    expect(text).toMatch(new RegExp(`ragmesh_generation_upstream_errors_total\\{upstream="${label(a)}",cause="http_5xx"[^}]*\\} [1-9]`, 'u'));
  });

  it('an upstream dying mid-stream gives the client an error after the partial text, with nothing repeated', async () => {
    await boot();
    a.setMode('dieMidStream', { dieAfterTokens: 2 });
    b.setMode('dieMidStream', { dieAfterTokens: 2 });
    const result = await run(client, 'conversation-2');
    expect(result.error?.code).toBe(grpc.status.ABORTED);
    expect(result.text).toBe('tok1 tok2');
    // No retry after the first token: exactly one upstream request was made.
    expect(a.stats.requests + b.stats.requests).toBe(1);
  });

  it('a hung upstream trips its breaker and later requests go to the healthy one', async () => {
    await boot({ GENERATION_TTFT_TIMEOUT_MS: '300', GENERATION_BREAKER_COOLDOWN_MS: '60000' });
    a.setMode('hang');
    // Different sessions so that at least one lands on the hung upstream first.
    const first = await Promise.all([run(client, 'h-1'), run(client, 'h-2')]);
    expect(first.map((r) => r.error?.details)).toEqual([undefined, undefined]);
    expect(first.every((r) => r.text === FULL_REPLY)).toBe(true);
    expect(a.stats.requests).toBe(1);
    await eventually(() => a.stats.active === 0);
    expect(a.stats.aborted).toBe(1);

    const later = await Promise.all(Array.from({ length: 4 }, (_, i) => run(client, `h-later-${i}`)));
    expect(later.map((r) => r.error?.details)).toEqual(Array(4).fill(undefined));
    expect(a.stats.requests).toBe(1);
    const text = await metrics();
    expect(text).toMatch(new RegExp(`ragmesh_generation_upstream_breaker_state\\{upstream="${label(a)}"[^}]*\\} 2`, 'u'));
    expect(text).toMatch(new RegExp(`ragmesh_generation_upstream_errors_total\\{upstream="${label(a)}",cause="ttft_timeout"[^}]*\\} 1`, 'u'));
  });

  it('active health checks take a failing upstream out and bring it back', async () => {
    await boot({ GENERATION_HEALTH_INTERVAL_MS: '50' });
    a.setHealthy(false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await Promise.all(Array.from({ length: 4 }, () => run(client)));
    expect(a.stats.requests).toBe(0);
    expect(b.stats.requests).toBe(4);
    a.setHealthy(true);
    await eventually(async () => {
      await Promise.all(Array.from({ length: 2 }, () => run(client)));
      return a.stats.requests > 0;
    });
  });
});
