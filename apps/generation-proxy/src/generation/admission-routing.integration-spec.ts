import { status } from '@grpc/grpc-js';
// The fake upstream is a dev tool, not a lib; only tests reach for it.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { FakeOpenAi, startFakeOpenAi } from '../../../../tools/fake-openai/src/server';
import { BootedProxy, bootProxy, eventually, runStream } from '../../test/proxy-harness';

jest.setTimeout(30_000);

const label = (fake: FakeOpenAi) => `127.0.0.1:${fake.port}`;
const image = { type: 'image_url', text: '', imageUrl: 'data:image/png;base64,iVBORw0KGgo=', detail: '' };
const imageQuestion = {
  role: 'user',
  content: 'what is in the picture',
  contentParts: { parts: [{ type: 'text', text: 'what is in the picture', imageUrl: '', detail: '' }, image] },
};

describe('generation-proxy admission, deadlines, usage and multimodal routing (real fake upstreams over HTTP)', () => {
  const fakes: FakeOpenAi[] = [];
  let booted: BootedProxy | undefined;
  const fake = async (opts: Parameters<typeof startFakeOpenAi>[0]) => {
    const started = await startFakeOpenAi(opts);
    fakes.push(started);
    return started;
  };
  afterEach(async () => {
    await booted?.close();
    booted = undefined;
    await Promise.all(fakes.splice(0).map((f) => f.close()));
  });

  it('past the slots and the bounded queue: RESOURCE_EXHAUSTED with retry-after-ms; queued requests still finish', async () => {
    const a = await fake({ tokenDelayMs: 40, replyTokens: 5 });
    booted = await bootProxy({ GENERATION_UPSTREAMS: `${a.url};max_concurrency=1`, GENERATION_MAX_QUEUE: '1', GENERATION_UPSTREAM_MODEL: 'fake-model' });
    const running = runStream(booted.client);
    await eventually(() => a.stats.active === 1);
    const queued = runStream(booted.client);
    await eventually(async () => /ragmesh_generation_upstream_queued\S* 1/u.test(await booted!.metrics()));
    const rejected = await runStream(booted.client).result;
    expect(rejected.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(rejected.error?.details).toMatch(/concurrency limit.*1 requests are queued \(max 1\)/u);
    const retryAfter = Number(rejected.error?.metadata.get('retry-after-ms')[0]);
    expect(retryAfter).toBeGreaterThanOrEqual(100);
    expect(retryAfter).toBeLessThanOrEqual(30_000);
    // The upstream never saw more than its one slot; both admitted requests complete.
    const [first, second] = await Promise.all([running.result, queued.result]);
    expect([first.error, second.error]).toEqual([undefined, undefined]);
    expect(second.text).toBe('tok1 tok2 tok3 tok4 tok5');
    expect(a.stats.requests).toBe(2);
    const metrics = await booted.metrics();
    expect(metrics).toMatch(/ragmesh_generation_upstream_errors_total\{upstream="none",cause="queue_full"[^}]*\} 1/u);
    expect(metrics).toMatch(/ragmesh_generation_queue_wait_seconds_count\S* 2/u);
  });

  it('a queued request that waits past GENERATION_QUEUE_TIMEOUT_MS is rejected with RESOURCE_EXHAUSTED', async () => {
    const a = await fake({ tokenDelayMs: 50, replyTokens: 10 });
    booted = await bootProxy({ GENERATION_UPSTREAMS: `${a.url};max_concurrency=1`, GENERATION_QUEUE_TIMEOUT_MS: '150' });
    const running = runStream(booted.client);
    await eventually(() => a.stats.active === 1);
    const timedOut = await runStream(booted.client).result;
    expect(timedOut.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(timedOut.error?.details).toMatch(/no upstream slot became free within 150 ms/u);
    expect((await running.result).error).toBeUndefined();
    expect(a.stats.requests).toBe(1);
  });

  it('honours the call deadline: DEADLINE_EXCEEDED and the upstream request is aborted', async () => {
    const a = await fake({ tokenDelayMs: 50, replyTokens: 100 });
    booted = await bootProxy({ GENERATION_UPSTREAM_URL: a.url });
    const result = await runStream(booted.client, {}, 400).result;
    expect(result.error?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(result.text.length).toBeGreaterThan(0);
    await eventually(() => a.stats.aborted === 1 && a.stats.active === 0);
    expect(await booted.metrics()).toMatch(new RegExp(`ragmesh_generation_upstream_in_flight\\{upstream="${label(a)}"[^}]*\\} 0`, 'u'));
  });

  it('cancelling the call aborts the upstream HTTP request (the fake counts the abort)', async () => {
    const a = await fake({ tokenDelayMs: 30, replyTokens: 200 });
    booted = await bootProxy({ GENERATION_UPSTREAM_URL: a.url });
    const { call, result } = runStream(booted.client);
    await new Promise<void>((resolve) => call.once('data', () => resolve()));
    call.cancel();
    expect((await result).error?.code).toBe(status.CANCELLED);
    await eventually(() => a.stats.aborted === 1 && a.stats.active === 0);
    expect(a.stats.completed).toBe(0);
  });

  it('reports usage even when the upstream sends none (counted locally), and names the upstream on every chunk', async () => {
    const a = await fake({ tokenDelayMs: 15, replyTokens: 4, omitUsage: true });
    booted = await bootProxy({ GENERATION_UPSTREAM_URL: a.url });
    const result = await runStream(booted.client, { messages: [{ role: 'user', content: 'how many tokens is this' }] }).result;
    expect(result.error).toBeUndefined();
    const final = result.chunks[result.chunks.length - 1];
    expect(final.usage?.completionTokens).toBeGreaterThan(0);
    expect(final.usage?.promptTokens).toBeGreaterThan(0);
    expect(final.usage?.totalTokens).toBe((final.usage?.promptTokens ?? 0) + (final.usage?.completionTokens ?? 0));
    expect(result.chunks.every((c) => c.upstream === label(a))).toBe(true);
    const metrics = await booted.metrics();
    expect(metrics).toMatch(new RegExp(`ragmesh_generation_ttft_seconds_count\\{[^}]*upstream="${label(a)}"[^}]*\\} 1`, 'u'));
    expect(metrics).toMatch(new RegExp(`ragmesh_generation_inter_token_seconds_count\\{[^}]*upstream="${label(a)}"[^}]*\\} 3`, 'u'));
    expect(metrics).toMatch(new RegExp(`ragmesh_generation_tokens_total\\{upstream="${label(a)}",kind="completion"[^}]*\\} [1-9]`, 'u'));
  });

  it('sends image content parts only to the upstream labelled multimodal for the model', async () => {
    const text = await fake({ tokenDelayMs: 1 });
    const vision = await fake({ tokenDelayMs: 1, multimodal: true });
    booted = await bootProxy({
      GENERATION_UPSTREAMS: `${text.url},${vision.url};multimodal=fake-model`,
      GENERATION_UPSTREAM_MODEL: 'fake-model',
    });
    for (let i = 0; i < 3; i++) {
      const result = await runStream(booted.client, { messages: [imageQuestion] }).result;
      expect(result.error).toBeUndefined();
      expect(result.text).toBe('FAKE-UPSTREAM answer to: what is in the picture (images: 1) (context lines: 0)');
      expect(result.chunks[0].upstream).toBe(label(vision));
    }
    expect(vision.stats.images).toBe(3);
    expect(text.stats.requests).toBe(0);
    // Text-only requests still use both.
    await Promise.all(Array.from({ length: 4 }, () => runStream(booted!.client).result));
    expect(text.stats.requests).toBeGreaterThan(0);
  });

  it('answers FAILED_PRECONDITION for images when no upstream is multimodal for the model, or for the local engine', async () => {
    const text = await fake({ tokenDelayMs: 1 });
    booted = await bootProxy({ GENERATION_UPSTREAMS: `${text.url};multimodal=other-vl`, GENERATION_UPSTREAM_MODEL: 'fake-model' });
    const refused = await runStream(booted.client, { messages: [imageQuestion] }).result;
    expect(refused.error?.code).toBe(status.FAILED_PRECONDITION);
    expect(refused.error?.details).toMatch(/no upstream is labelled multimodal for model "fake-model".*other-vl/u);
    expect(text.stats.requests).toBe(0);
    const local = await runStream(booted.client, { model: 'local-extractive', messages: [imageQuestion] }).result;
    expect(local.error?.code).toBe(status.FAILED_PRECONDITION);
    expect(local.error?.details).toMatch(/local extractive engine, which reads no images/u);
    const badImage = await runStream(booted.client, {
      messages: [{ ...imageQuestion, contentParts: { parts: [{ ...image, imageUrl: 'file:///etc/passwd' }] } }],
    }).result;
    expect(badImage.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(badImage.error?.details).toMatch(/^messages\[0\]\.content_parts\.parts\[0\]\.image_url: must be an http\(s\) URL/u);
  });

  it('replaceUpstreams swaps members at runtime, keeping the state of the ones that stay', async () => {
    const a = await fake({ tokenDelayMs: 1, replyTokens: 3 });
    const b = await fake({ tokenDelayMs: 1, replyTokens: 3 });
    booted = await bootProxy({ GENERATION_UPSTREAMS: a.url, GENERATION_BREAKER_FAILURES: '1', GENERATION_MAX_ATTEMPTS: '1' });
    const pool = booted.proxy.pool;
    a.setMode('refuse');
    expect((await runStream(booted.client).result).error?.code).toBe(status.UNAVAILABLE);
    expect(pool.snapshot()[0].breaker).toBe('open');
    a.setMode('ok');
    expect(pool.replaceUpstreams([{ url: a.url }, { url: b.url, maxConcurrency: 4 }])).toEqual({ added: [label(b)], removed: [], kept: [label(a)] });
    // a kept its open breaker, so the new member takes the traffic.
    expect(pool.snapshot().map((s) => [s.name, s.breaker, s.maxConcurrency])).toEqual([
      [label(a), 'open', 256],
      [label(b), 'closed', 4],
    ]);
    for (let i = 0; i < 3; i++) expect((await runStream(booted.client).result).chunks[0].upstream).toBe(label(b));
    expect(pool.replaceUpstreams([])).toEqual({ added: [], removed: [label(a), label(b)], kept: [] });
    // With no upstream left the local engine answers.
    const local = await runStream(booted.client).result;
    expect(local.error).toBeUndefined();
    expect(local.chunks[local.chunks.length - 1].upstream).toBe('local');
    expect(await booted.metrics()).not.toContain(`ragmesh_generation_upstream_in_flight{upstream="${label(b)}"`);
  });
});
