import { startFakeOpenAi, type FakeOpenAi } from './server';

describe('fake OpenAI upstream', () => {
  let fake: FakeOpenAi;
  beforeAll(async () => {
    fake = await startFakeOpenAi({ port: 0, modelId: 'fake-x', tokenDelayMs: 1 });
  });
  afterAll(async () => {
    await fake.close();
  });

  const post = (body: unknown) =>
    fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('answers non-streaming completions with usage', async () => {
    const res = await post({ model: 'fake-x', messages: [{ role: 'system', content: 'ctx:\n[1] a\ntext\n[2] b\ntext' }, { role: 'user', content: 'hello there' }] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; choices: { message: { content: string }; finish_reason: string }[]; usage: { completion_tokens: number } };
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0].message.content).toBe('FAKE-UPSTREAM answer to: hello there (context lines: 2)');
    expect(body.choices[0].finish_reason).toBe('stop');
    expect(body.usage.completion_tokens).toBe(8);
  });

  it('streams role, one token per chunk, finish, usage and [DONE]', async () => {
    const res = await post({ messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const lines = (await res.text()).split('\n\n').filter(Boolean);
    expect(lines[lines.length - 1]).toBe('data: [DONE]');
    const chunks = lines.slice(0, -1).map((l) => JSON.parse(l.replace(/^data: /u, '')) as { choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[]; usage?: { completion_tokens: number } });
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const usageChunk = chunks[chunks.length - 1];
    expect(usageChunk.choices).toEqual([]);
    expect(chunks[chunks.length - 2].choices[0].finish_reason).toBe('stop');
    const contents = chunks.slice(1, -2).map((c) => c.choices[0].delta.content);
    expect(contents.join('')).toBe('FAKE-UPSTREAM answer to: hi (context lines: 0)');
    expect(usageChunk.usage?.completion_tokens).toBe(contents.length);
  });

  it('rejects bad requests with an OpenAI-style error naming the field', async () => {
    const res = await post({ messages: 'nope' });
    expect(res.status).toBe(400);
    await expect(res.json()).resolves.toMatchObject({ error: { param: 'messages', type: 'invalid_request_error' } });
    const bad = await fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', body: '{' });
    expect(bad.status).toBe(400);
    expect((await post({ model: 'other', messages: [{ role: 'user', content: 'x' }] })).status).toBe(404);
  });

  it('serves models, health and vLLM-named metrics', async () => {
    await expect((await fetch(`${fake.url}/v1/models`)).json()).resolves.toMatchObject({ object: 'list', data: [{ id: 'fake-x', object: 'model' }] });
    expect((await fetch(`${fake.url}/health`)).status).toBe(200);
    const metrics = await (await fetch(`${fake.url}/metrics`)).text();
    for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:gpu_cache_usage_perc', 'vllm:prompt_tokens_total', 'vllm:generation_tokens_total']) {
      expect(metrics).toMatch(new RegExp(`^${name}\\{model_name="fake-x"\\} \\d`, 'mu'));
    }
    expect(metrics).toMatch(/^vllm:time_to_first_token_seconds_count\{model_name="fake-x"\} [1-9]/mu);
    expect(metrics).toContain('vllm:time_to_first_token_seconds_bucket{le="+Inf",model_name="fake-x"}');
    expect((await fetch(`${fake.url}/nope`)).status).toBe(404);
  });
});

describe('fake OpenAI upstream stats', () => {
  it('counts chat completions and in-flight requests, not scrapes', async () => {
    const fake = await startFakeOpenAi({ port: 0, tokenDelayMs: 30 });
    try {
      const pending = fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'a b c' }], stream: true }) });
      const res = await pending;
      expect(fake.stats).toMatchObject({ requests: 1, active: 1 });
      expect(await (await fetch(`${fake.url}/metrics`)).text()).toContain('vllm:num_requests_running{model_name="fake-model"} 1');
      await res.text();
      // The server sees its response close just after the client has read the end.
      for (let i = 0; i < 100 && fake.stats.active > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(fake.stats).toMatchObject({ requests: 1, active: 0, aborted: 0 });
    } finally {
      await fake.close();
    }
  });
});

describe('fake OpenAI upstream control and vLLM metrics', () => {
  const chat = (fake: FakeOpenAi, body: Record<string, unknown>) =>
    fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const metric = async (fake: FakeOpenAi, name: string): Promise<number> => {
    const text = await (await fetch(`${fake.url}/metrics`)).text();
    const match = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'mu').exec(text);
    if (!match) throw new Error(`${name} not in /metrics`);
    return Number(match[1]);
  };

  it('reports its counters at /fake/stats and takes runtime config at /fake/config', async () => {
    const fake = await startFakeOpenAi({ tokenDelayMs: 1, replyTokens: 3 });
    try {
      await (await chat(fake, { messages: [{ role: 'user', content: 'a' }], stream: true })).text();
      fake.setTiming({ tokenDelayMs: 20, replyTokens: 50 });
      const res = await chat(fake, { messages: [{ role: 'user', content: 'b' }], stream: true });
      const reader = res.body?.getReader();
      await reader?.read();
      await reader?.cancel();
      for (let i = 0; i < 100 && fake.stats.aborted === 0; i++) await new Promise((r) => setTimeout(r, 10));
      await expect((await fetch(`${fake.url}/fake/stats`)).json()).resolves.toMatchObject({ requests: 2, completed: 1, aborted: 1, mode: 'ok' });

      const set = await fetch(`${fake.url}/fake/config`, { method: 'POST', body: JSON.stringify({ mode: 'refuse', tokenDelayMs: 0 }) });
      expect(set.status).toBe(200);
      expect(fake.mode).toBe('refuse');
      expect((await chat(fake, { messages: [{ role: 'user', content: 'c' }] })).status).toBe(503);
      const bad = await fetch(`${fake.url}/fake/config`, { method: 'POST', body: JSON.stringify({ mode: 'sleepy' }) });
      expect(bad.status).toBe(400);
      await expect(bad.json()).resolves.toMatchObject({ error: { param: 'mode' } });
    } finally {
      await fake.close();
    }
  });

  it('reads image content parts only when multimodal', async () => {
    const image = { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } };
    const messages = [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, image] }];
    const text = await startFakeOpenAi({ tokenDelayMs: 0 });
    const vision = await startFakeOpenAi({ tokenDelayMs: 0, multimodal: true });
    try {
      const refused = await chat(text, { messages });
      expect(refused.status).toBe(400);
      await expect(refused.json()).resolves.toMatchObject({ error: { message: expect.stringMatching(/not a multimodal model/u) as string } });
      const answered = (await (await chat(vision, { messages })).json()) as { choices: { message: { content: string } }[] };
      expect(answered.choices[0].message.content).toBe('FAKE-UPSTREAM answer to: what is this (images: 1) (context lines: 0)');
      expect(vision.stats.images).toBe(1);
    } finally {
      await text.close();
      await vision.close();
    }
  });

  it('moves running, waiting, KV-cache, inter-token and prefix-cache metrics with the traffic', async () => {
    const fake = await startFakeOpenAi({ tokenDelayMs: 15, replyTokens: 6, maxNumSeqs: 1 });
    try {
      const conversation = [{ role: 'system', content: 'you are terse' }, { role: 'user', content: 'first question here' }];
      const a = await chat(fake, { messages: conversation, stream: true });
      // Its headers wait for a free sequence slot, so do not await them yet.
      const second = chat(fake, { messages: conversation, stream: true });
      for (let i = 0; i < 100 && fake.stats.waiting === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(await metric(fake, 'vllm:num_requests_running')).toBe(1);
      expect(await metric(fake, 'vllm:num_requests_waiting')).toBe(1);
      expect(await metric(fake, 'vllm:kv_cache_usage_perc')).toBeGreaterThan(0);
      await a.text();
      await (await second).text();
      for (let i = 0; i < 100 && fake.stats.active > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(await metric(fake, 'vllm:num_requests_waiting')).toBe(0);
      expect(await metric(fake, 'vllm:kv_cache_usage_perc')).toBe(0);
      expect(await metric(fake, 'vllm:inter_token_latency_seconds_count')).toBe(10);
      expect(await metric(fake, 'vllm:prefix_cache_queries_total')).toBeGreaterThan(0);
      // The second request repeated the first one's prefix (the system message).
      expect(await metric(fake, 'vllm:prefix_cache_hits_total')).toBeGreaterThan(0);
      expect(await metric(fake, 'vllm:request_success_total')).toBe(2);
    } finally {
      await fake.close();
    }
  });
});
