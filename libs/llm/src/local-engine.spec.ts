import { splitSentences } from '@ragmesh/text';
import {
  LOCAL_ENGINE_MODEL,
  LOCAL_FALLBACKS,
  LOCAL_SUMMARIZER_MODEL,
  LocalExtractiveEngine,
  extractiveAnswer,
  type ContextChunk,
  type GenerateEvent,
  type GenerateInput,
} from './index';

const context: ContextChunk[] = [
  { chunkId: 'c1', title: '날씨', text: '서울은 오늘 맑다. 바람이 조금 분다.', score: 0.9 },
  { chunkId: 'c2', title: '교통', text: '지하철 2호선은 순환선이다. 부산의 날씨는 흐리다.', score: 0.5 },
];

async function collect(events: AsyncIterable<GenerateEvent>): Promise<GenerateEvent[]> {
  const out: GenerateEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

const input = (question: string, ctx: ContextChunk[] = context, extra: Partial<GenerateInput> = {}): GenerateInput => ({
  messages: [{ role: 'user', content: question }],
  context: ctx,
  ...extra,
});

describe('LocalExtractiveEngine.generate', () => {
  const engine = new LocalExtractiveEngine();

  it('streams the relevant context sentences in context order, each cited with its chunk number', async () => {
    const events = await collect(engine.generate(input('서울의 날씨는 어때? 부산은?')));
    const deltas = events.filter((e) => e.type === 'delta');
    expect(deltas.length).toBeGreaterThan(3);
    const text = deltas.map((e) => (e.type === 'delta' ? e.text : '')).join('');
    expect(text).toBe('서울은 오늘 맑다. [1] 부산의 날씨는 흐리다. [2]');
    const done = events[events.length - 1];
    expect(done).toEqual({
      type: 'done',
      finishReason: 'stop',
      model: LOCAL_ENGINE_MODEL,
      usage: { promptTokens: expect.any(Number), completionTokens: expect.any(Number), totalTokens: expect.any(Number) },
    });
    if (done.type !== 'done') throw new Error('unreachable');
    expect(done.usage.promptTokens).toBeGreaterThan(0);
    expect(done.usage.completionTokens).toBeGreaterThan(0);
    expect(done.usage.totalTokens).toBe(done.usage.promptTokens + done.usage.completionTokens);
  });

  it('quotes at most four sentences', async () => {
    const many: ContextChunk[] = [{ chunkId: 'x', title: '', text: Array.from({ length: 10 }, (_, i) => `서울 날씨 기록 ${i}번.`).join(' '), score: 1 }];
    const text = (await collect(engine.generate(input('서울 날씨', many)))).map((e) => (e.type === 'delta' ? e.text : '')).join('');
    expect(text.match(/\[1\]/gu)).toHaveLength(4);
  });

  it('says it answers only from documents when there is no context, in the question language', async () => {
    const ko = (await collect(engine.generate(input('서울의 날씨는?', [])))).map((e) => (e.type === 'delta' ? e.text : '')).join('');
    expect(ko).toBe(LOCAL_FALLBACKS.noContext.ko);
    const en = (await collect(engine.generate(input('What is the weather?', [])))).map((e) => (e.type === 'delta' ? e.text : '')).join('');
    expect(en).toBe(LOCAL_FALLBACKS.noContext.en);
  });

  it('does not quote unrelated context', async () => {
    const text = (await collect(engine.generate(input('quantum chromodynamics')))).map((e) => (e.type === 'delta' ? e.text : '')).join('');
    expect(text).toBe(LOCAL_FALLBACKS.noMatch.en);
  });

  it('stops with finishReason length at maxTokens', async () => {
    const events = await collect(engine.generate(input('서울의 날씨는 어때? 부산은?', context, { maxTokens: 3 })));
    const done = events[events.length - 1];
    expect(done).toMatchObject({ type: 'done', finishReason: 'length' });
    if (done.type === 'done') expect(done.usage.completionTokens).toBeLessThanOrEqual(3);
  });

  it('stops mid-stream when the signal aborts', async () => {
    const controller = new AbortController();
    const seen: GenerateEvent[] = [];
    await expect(
      (async () => {
        for await (const e of engine.generate(input('서울의 날씨는 어때? 부산은?', context, { signal: controller.signal }))) {
          seen.push(e);
          controller.abort();
        }
      })(),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toHaveLength(1);
  });

  it('rejects at once when already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(collect(engine.generate(input('서울', context, { signal: controller.signal })))).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('extractiveAnswer', () => {
  const faq: ContextChunk[] = [
    { chunkId: 'f#0', title: 'FAQ', score: 1, text: '질문: 피드백 요청은 어떻게 처리되나요? 답변: 피드백 요청은 워커가 처리하고 서명된 콜백으로 전달합니다.' },
    { chunkId: 'o#0', title: '기타', score: 0.5, text: '질문: 요청이 너무 많으면 어떻게 되나요? 요청 한도를 넘으면 429 응답을 받습니다.' },
  ];

  it('does not quote the questions of an FAQ as if they were answers', () => {
    const answer = extractiveAnswer('피드백 요청은 어떻게 처리되나요?', faq);
    expect(answer).toContain('서명된 콜백으로 전달합니다. [1]');
    expect(answer).not.toMatch(/[?？]/);
  });

  it('leaves out sentences far weaker than the best match', () => {
    const answer = extractiveAnswer('피드백 요청은 어떻게 처리되나요?', faq);
    // "요청" alone ties the second chunk to the question: too weak to quote.
    expect(answer).not.toContain('429');
  });
});

describe('LocalExtractiveEngine.summarize', () => {
  const engine = new LocalExtractiveEngine();
  const messages = [
    { role: 'user' as const, content: '서울의 내일 날씨를 알려줘. 우산이 필요할까?' },
    { role: 'assistant' as const, content: '서울의 내일 날씨는 비가 온다. 우산이 필요하다. 기온은 15도다. 바람은 약하다.' },
    { role: 'user' as const, content: '고마워!' },
  ];

  it('returns at most three sentences taken from the conversation, whatever maxSentences says', async () => {
    const summary = await engine.summarize({ previousSummary: '사용자는 서울 날씨에 관심이 있다.', messages, maxSentences: 10 });
    const sentences = splitSentences(summary);
    expect(sentences.length).toBeGreaterThan(0);
    expect(sentences.length).toBeLessThanOrEqual(3);
    const source = ['사용자는 서울 날씨에 관심이 있다.', ...messages.map((m) => m.content)].join(' ');
    for (const s of sentences) expect(source).toContain(s);
    // The sentences everything else talks about are the central ones.
    expect(summary).toContain('날씨');
    expect(summary).not.toContain('고마워');
  });

  it('honours a smaller maxSentences and rejects a non-positive one', async () => {
    const summary = await engine.summarize({ previousSummary: '', messages, maxSentences: 1 });
    expect(splitSentences(summary)).toHaveLength(1);
    await expect(engine.summarize({ previousSummary: '', messages, maxSentences: 0 })).rejects.toThrow(/maxSentences/);
  });

  it('returns an empty summary for an empty conversation', async () => {
    await expect(engine.summarize({ previousSummary: '', messages: [], maxSentences: 3 })).resolves.toBe('');
  });

  it('lists its two models', async () => {
    await expect(engine.listModels()).resolves.toEqual([LOCAL_ENGINE_MODEL, LOCAL_SUMMARIZER_MODEL]);
    expect(engine.name).toBe('local-extractive');
  });
});
