import { startFakeOpenAi, type FakeOpenAi } from './server';

interface Chunk {
  choices: { delta: { content?: string }; finish_reason: string | null }[];
}

const body = { messages: [{ role: 'user', content: 'hi' }], stream: true };

const post = (fake: FakeOpenAi, signal?: AbortSignal) =>
  fetch(`${fake.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });

/** Reads the SSE body until the server ends or kills it; returns the content deltas and how it ended. */
async function readDeltas(res: Response): Promise<{ deltas: string[]; done: boolean; error?: unknown }> {
  const deltas: string[] = [];
  let text = '';
  let error: unknown;
  // Read chunk by chunk: res.text() would throw away what arrived before the socket died.
  const reader = res.body?.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const part = await reader?.read();
      if (!part || part.done) break;
      text += decoder.decode(part.value, { stream: true });
    }
  } catch (err) {
    error = err;
  }
  for (const block of text.split('\n\n').filter(Boolean)) {
    const data = block.replace(/^data: /u, '');
    if (data === '[DONE]') return { deltas, done: true, error };
    const content = (JSON.parse(data) as Chunk).choices[0]?.delta.content;
    if (content) deltas.push(content);
  }
  return { deltas, done: false, error };
}

describe('fake OpenAI failure modes and timing', () => {
  let fake: FakeOpenAi;
  beforeEach(async () => {
    fake = await startFakeOpenAi({ tokenDelayMs: 1 });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('replies with exactly replyTokens tokens', async () => {
    fake.setTiming({ replyTokens: 5 });
    const { deltas, done } = await readDeltas(await post(fake));
    expect(done).toBe(true);
    expect(deltas.join('')).toBe('tok1 tok2 tok3 tok4 tok5');
  });

  it('waits ttftMs before the first token', async () => {
    fake.setTiming({ ttftMs: 150, replyTokens: 1 });
    const started = performance.now();
    await readDeltas(await post(fake));
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('refuse: answers 503 at once', async () => {
    fake.setMode('refuse');
    expect(fake.mode).toBe('refuse');
    const res = await post(fake);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(503);
    fake.setMode('ok');
    expect((await post(fake)).status).toBe(200);
  });

  it('hang: accepts and never answers; the abort is counted', async () => {
    fake.setMode('hang');
    const abort = new AbortController();
    const pending = post(fake, abort.signal);
    const outcome = await Promise.race([pending.then(() => 'answered'), new Promise((r) => setTimeout(() => r('silent'), 200))]);
    expect(outcome).toBe('silent');
    expect(fake.stats.active).toBe(1);
    abort.abort();
    await expect(pending).rejects.toThrow();
    for (let i = 0; i < 50 && fake.stats.aborted === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fake.stats.aborted).toBe(1);
  });

  it('dieMidStream: sends N tokens then destroys the socket without [DONE]', async () => {
    fake.setMode('dieMidStream', { dieAfterTokens: 3 });
    fake.setTiming({ replyTokens: 10 });
    const res = await post(fake);
    expect(res.status).toBe(200);
    const { deltas, done, error } = await readDeltas(res);
    expect(done).toBe(false);
    expect(error).toBeDefined();
    expect(deltas).toEqual(['tok1', ' tok2', ' tok3']);
  });

  it('setHealthy(false) makes /health answer 503', async () => {
    expect((await fetch(`${fake.url}/health`)).status).toBe(200);
    fake.setHealthy(false);
    expect((await fetch(`${fake.url}/health`)).status).toBe(503);
  });

  it('rejects an unknown mode', () => {
    expect(() => fake.setMode('sleepy' as never)).toThrow(/unknown fake mode "sleepy"/u);
  });
});
