// The client's tests live beside the fake upstream they run against: a lib may not depend on a tool.
import { OpenAiCompatibleEngine, UpstreamHttpError, type GenerateEvent, type GenerateInput } from '@ragmesh/llm';
import { startFakeOpenAi, type FakeOpenAi } from './server';

async function collect(events: AsyncIterable<GenerateEvent>): Promise<GenerateEvent[]> {
  const out: GenerateEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

const deltaText = (events: GenerateEvent[]) => events.map((e) => (e.type === 'delta' ? e.text : '')).join('');

async function waitFor(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const input: GenerateInput = {
  messages: [{ role: 'user', content: '서울의 날씨는 어때?' }],
  context: [
    { chunkId: 'a', title: '날씨', text: '서울은 맑다.', score: 1 },
    { chunkId: 'b', title: '예보', text: '내일은 비.', score: 0.5 },
  ],
};

describe('OpenAiCompatibleEngine against the fake upstream', () => {
  let fake: FakeOpenAi;
  let engine: OpenAiCompatibleEngine;

  beforeAll(async () => {
    fake = await startFakeOpenAi({ port: 0, modelId: 'test-model', tokenDelayMs: 2 });
    engine = new OpenAiCompatibleEngine({ baseUrl: fake.url, defaultModel: 'test-model', timeoutMs: 5000 });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('streams deltas that concatenate to the upstream reply, then done with the upstream usage', async () => {
    const events = await collect(engine.generate(input));
    expect(events.filter((e) => e.type === 'delta').length).toBeGreaterThan(3);
    // The fake saw the two numbered context entries of the RAG prompt.
    expect(deltaText(events)).toBe('FAKE-UPSTREAM answer to: 서울의 날씨는 어때? (context lines: 2)');
    const done = events[events.length - 1];
    expect(done).toMatchObject({ type: 'done', finishReason: 'stop', model: 'test-model' });
    if (done.type !== 'done') throw new Error('unreachable');
    expect(done.usage.completionTokens).toBe(events.length - 1);
    expect(done.usage.promptTokens).toBeGreaterThan(0);
    expect(done.usage.totalTokens).toBe(done.usage.promptTokens + done.usage.completionTokens);
  });

  it('accepts a baseUrl ending in /v1 and picks the served model when none is configured', async () => {
    const other = new OpenAiCompatibleEngine({ baseUrl: `${fake.url}/v1/` });
    await expect(other.listModels()).resolves.toEqual(['test-model']);
    const events = await collect(other.generate({ ...input, maxTokens: 2 }));
    expect(events[events.length - 1]).toMatchObject({ type: 'done', finishReason: 'length', usage: { completionTokens: 2 } });
  });

  it('aborting mid-stream cancels the upstream request', async () => {
    const slow = await startFakeOpenAi({ port: 0, modelId: 'm', tokenDelayMs: 50, reply: () => 'one two three four five six seven eight nine ten' });
    try {
      const controller = new AbortController();
      const slowEngine = new OpenAiCompatibleEngine({ baseUrl: slow.url, defaultModel: 'm' });
      const seen: string[] = [];
      await expect(
        (async () => {
          for await (const e of slowEngine.generate({ ...input, signal: controller.signal })) {
            if (e.type === 'delta') seen.push(e.text);
            if (seen.length === 2) controller.abort();
          }
        })(),
      ).rejects.toMatchObject({ name: 'AbortError' });
      expect(seen).toHaveLength(2);
      await waitFor(() => slow.stats.aborted === 1 && slow.stats.active === 0);
    } finally {
      await slow.close();
    }
  });

  it('stopping iteration early also cancels the upstream request', async () => {
    const slow = await startFakeOpenAi({ port: 0, modelId: 'm', tokenDelayMs: 50, reply: () => 'a b c d e f g h' });
    try {
      const slowEngine = new OpenAiCompatibleEngine({ baseUrl: slow.url, defaultModel: 'm' });
      for await (const e of slowEngine.generate(input)) {
        if (e.type === 'delta') break;
      }
      await waitFor(() => slow.stats.aborted === 1);
    } finally {
      await slow.close();
    }
  });

  it('surfaces a non-2xx answer with the upstream status and body', async () => {
    const wrong = new OpenAiCompatibleEngine({ baseUrl: fake.url, defaultModel: 'no-such-model' });
    const error = await collect(wrong.generate(input)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UpstreamHttpError);
    expect(error).toMatchObject({ status: 404 });
    expect((error as Error).message).toMatch(/404.*no-such-model/);
  });

  it('summarizes with a non-streaming completion, capped at three sentences', async () => {
    const chatty = await startFakeOpenAi({ port: 0, modelId: 'm', tokenDelayMs: 0, reply: () => '하나다. 둘이다. 셋이다. 넷이다. 다섯이다.' });
    try {
      const summarizer = new OpenAiCompatibleEngine({ baseUrl: chatty.url, defaultModel: 'm' });
      const summary = await summarizer.summarize({ previousSummary: '', messages: input.messages, maxSentences: 5 });
      expect(summary).toBe('하나다. 둘이다. 셋이다.');
    } finally {
      await chatty.close();
    }
  });

  it('names the upstream when it is unreachable', async () => {
    const dead = await startFakeOpenAi({ port: 0 });
    await dead.close();
    const engineToDead = new OpenAiCompatibleEngine({ baseUrl: dead.url, defaultModel: 'fake-model' });
    await expect(collect(engineToDead.generate(input))).rejects.toThrow(/unreachable.*ECONNREFUSED/);
  });

  it('rejects a baseUrl that is not a URL', () => {
    expect(() => new OpenAiCompatibleEngine({ baseUrl: 'not a url' })).toThrow(/baseUrl/);
  });
});
