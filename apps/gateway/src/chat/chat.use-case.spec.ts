import type { RateLimits } from '../auth/rate-limits';
import { Logger } from '@nestjs/common';
import { lastValueFrom, Observable, of, Subject, throwError, toArray } from 'rxjs';
import type { Conversation, NewTurn, Reference, StoredMessage, SummaryOutcome, SummaryUpdate } from '../conversations/conversation.types';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { GenerationRepository, type GenerateChunk, type GenerateRequest, type ModelInfo } from '../grpc/generation.repository';
import { RetrievalRepository, type IngestDocumentResponse, type ScoredChunk, type SearchRequest } from '../grpc/retrieval.repository';
import { EventsRepository, type TurnCompleted } from '../messaging/events.repository';
import { MetricsService } from '@ragmesh/observability';
import { Registry } from 'prom-client';
import { ChatMetrics } from './chat.metrics';
import { ChatCommand, ChatConfig, ChatEvent, ChatUseCase, MissingQuestionError } from './chat.use-case';
import { QueryRewriter } from './query-rewriter';
import { RewriteModelRepository, type RewriteCall } from './rewrite-model.repository';

const CONVERSATION_ID = '0b8e8f7e-3f7c-4a57-9c55-0b1d8a8a0c11';

class FakeConversations extends ConversationsRepository {
  conversation: Conversation = {
    id: CONVERSATION_ID,
    summary: null,
    summaryTurnIndex: null,
    turnCount: 0,
    createdAt: new Date(),
    updatedAt: new Date(),
  };
  messages: StoredMessage[] = [];
  recorded: NewTurn[] = [];
  requestedIds: (string | undefined)[] = [];

  addTurns(n: number): void {
    for (let i = 0; i < n; i++) {
      for (const role of ['user', 'assistant'] as const) {
        this.messages.push({ turnIndex: i, role, content: `${role} ${i}`, model: null, references: [], usage: null, createdAt: new Date() });
      }
    }
    this.conversation.turnCount = n;
  }
  async findOrCreate(id: string | undefined): Promise<Conversation> {
    this.requestedIds.push(id);
    return this.conversation;
  }
  async find(): Promise<Conversation | null> {
    return this.conversation;
  }
  async messagesBetween(_id: string, from: number, before: number): Promise<StoredMessage[]> {
    return this.messages.filter((m) => m.turnIndex >= from && m.turnIndex < before);
  }
  async recordTurn(turn: NewTurn): Promise<{ turnIndex: number }> {
    this.recorded.push(turn);
    return { turnIndex: this.conversation.turnCount++ };
  }
  async findReferences(): Promise<Reference[] | null> {
    return null;
  }
  async applySummary(_u: SummaryUpdate): Promise<SummaryOutcome> {
    return 'applied';
  }
}

const HIT: ScoredChunk = {
  chunkId: 'doc-1#0',
  documentId: 'doc-1',
  title: 'Seoul guide',
  text: '서울은 한국의 수도입니다.',
  chunkIndex: 0,
  score: 0.9,
  bm25: 1.2,
  dense: 0.7,
  metadata: {},
};

class FakeRetrieval extends RetrievalRepository {
  searches: SearchRequest[] = [];
  async ingest(): Promise<IngestDocumentResponse> {
    throw new Error('not used');
  }
  async delete(): Promise<{ documentId: string; deleted: boolean }> {
    throw new Error('not used');
  }
  async search(request: SearchRequest): Promise<{ results: ScoredChunk[]; tookMs: number }> {
    this.searches.push(request);
    return { results: [HIT], tookMs: 1 };
  }
}

const doneChunk = (over: Partial<GenerateChunk> = {}): GenerateChunk => ({
  delta: '',
  finishReason: 'stop',
  usage: { promptTokens: 10, completionTokens: 3, totalTokens: 13 },
  model: 'local-extractive',
  upstream: 'local',
  ...over,
});

class FakeGeneration extends GenerationRepository {
  requests: GenerateRequest[] = [];
  stream: () => Observable<GenerateChunk> = () =>
    of(
      { delta: 'Seoul ', finishReason: '', usage: undefined, model: '', upstream: '' },
      { delta: 'is the capital.', finishReason: '', usage: undefined, model: '', upstream: '' },
      doneChunk(),
    );
  generateStream(request: GenerateRequest): Observable<GenerateChunk> {
    this.requests.push(request);
    return this.stream();
  }
  models: ModelInfo[] = [{ id: 'local-extractive', ownedBy: 'local', upstream: 'local', kind: 'local' }];
  async listModels(): Promise<ModelInfo[]> {
    return this.models;
  }
}

/** The LLM behind the rewrite: answers from a script, one entry per call. */
class FakeRewriteModel extends RewriteModelRepository {
  calls: RewriteCall[] = [];
  answers: (string | Error)[] = [];
  async complete(call: RewriteCall): Promise<string> {
    this.calls.push({ ...call, messages: [...call.messages] });
    const next = this.answers.shift() ?? 'no answer scripted';
    if (next instanceof Error) throw next;
    return next;
  }
}

class FakeEvents extends EventsRepository {
  published: TurnCompleted[] = [];
  fail = false;
  async turnCompleted(payload: TurnCompleted): Promise<void> {
    if (this.fail) throw new Error('unroutable');
    this.published.push(payload);
  }
}

function setup(historyTurns = 6, over: Partial<ChatConfig> = {}) {
  const conversations = new FakeConversations();
  const retrieval = new FakeRetrieval();
  const generation = new FakeGeneration();
  const events = new FakeEvents();
  const rewriteModel = new FakeRewriteModel();
  const metrics = new ChatMetrics(new MetricsService(undefined, new Registry()));
  const rewriter = new QueryRewriter({ CHAT_QUERY_REWRITE: 'auto', CHAT_REWRITE_TIMEOUT_MS: 5_000 }, generation, rewriteModel, metrics);
  const config: ChatConfig = { CHAT_HISTORY_TURNS: historyTurns, CHAT_TOP_K: 5, CHAT_PROMPT_TOKEN_BUDGET: 100_000, CHAT_PERSONA: '', ...over };
  const useCase = new ChatUseCase(config, conversations, retrieval, generation, events, rewriter, metrics);
  return { conversations, retrieval, generation, events, rewriteModel, metrics, useCase };
}

const command = (over: Partial<ChatCommand> = {}): ChatCommand => ({
  tenant: 'default',
  messages: [{ role: 'user', content: 'What is the capital of Korea?' }],
  rag: true,
  ...over,
});

const drain = (events: Observable<ChatEvent>) => lastValueFrom(events.pipe(toArray()));

describe('ChatUseCase', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('searches with the last user message and hands the references to generation and to the caller', async () => {
    const { useCase, retrieval, generation } = setup();
    const session = await useCase.execute(
      command({
        messages: [
          { role: 'user', content: 'first question' },
          { role: 'assistant', content: 'first answer' },
          { role: 'user', content: '서울은 어디?' },
        ],
        topK: 3,
        filters: { lang: 'ko' },
      }),
    );
    await drain(session.events);

    expect(retrieval.searches).toEqual([{ query: '서울은 어디?', topK: 3, collection: '', filters: { lang: 'ko' } }]);
    expect(session.references).toEqual([
      { chunk_id: 'doc-1#0', document_id: 'doc-1', title: 'Seoul guide', score: 0.9, text: '서울은 한국의 수도입니다.' },
    ]);
    expect(generation.requests[0].context).toEqual([{ chunkId: 'doc-1#0', title: 'Seoul guide', text: '서울은 한국의 수도입니다.', score: 0.9 }]);
    expect(generation.requests[0].sessionId).toBe(CONVERSATION_ID);
  });

  it('passes the time window and fusion options to retrieval, and only those given', async () => {
    const { useCase, retrieval } = setup();
    await drain(
      (
        await useCase.execute(
          command({ searchOptions: { timeRangeMonths: 6, timeAnchor: '2024-05-01T00:00:00.000Z', minCandidates: 4, fusion: 'rrf', bm25Weight: 0 } }),
        )
      ).events,
    );
    await drain((await useCase.execute(command({ searchOptions: { timeRangeMonths: 3 } }))).events);
    expect(retrieval.searches[0]).toEqual({
      query: 'What is the capital of Korea?',
      topK: 5,
      collection: '',
      filters: {},
      timeRangeMonths: 6,
      timeAnchor: '2024-05-01T00:00:00.000Z',
      minCandidates: 4,
      fusion: 'rrf',
      bm25Weight: 0,
    });
    expect(Object.keys(retrieval.searches[1]).sort()).toEqual(['collection', 'filters', 'query', 'timeRangeMonths', 'topK']);
  });

  it('uses CHAT_TOP_K when the request has no top_k', async () => {
    const { useCase, retrieval } = setup();
    await drain((await useCase.execute(command())).events);
    expect(retrieval.searches[0].topK).toBe(5);
  });

  it('skips retrieval entirely when rag is false', async () => {
    const { useCase, retrieval, generation } = setup();
    const session = await useCase.execute(command({ rag: false }));
    await drain(session.events);
    expect(retrieval.searches).toHaveLength(0);
    expect(session.references).toEqual([]);
    expect(generation.requests[0].context).toEqual([]);
  });

  it('puts the last N turns before the request messages when there is no summary', async () => {
    const { useCase, conversations, generation } = setup(2);
    conversations.addTurns(4);
    await drain((await useCase.execute(command({ rag: false }))).events);
    expect(generation.requests[0].messages.map((m) => m.content)).toEqual([
      'user 2',
      'assistant 2',
      'user 3',
      'assistant 3',
      'What is the capital of Korea?',
    ]);
  });

  it('uses the summary instead of the turns it covers', async () => {
    const { useCase, conversations, generation } = setup(6);
    conversations.addTurns(4);
    conversations.conversation.summary = 'The user asked about Korean cities.';
    conversations.conversation.summaryTurnIndex = 3;
    await drain((await useCase.execute(command({ rag: false }))).events);
    const messages = generation.requests[0].messages;
    expect(messages).toHaveLength(2);
    expect(messages[0].role).toBe('system');
    expect(messages[0].content).toContain('The user asked about Korean cities.');
    expect(messages[1]).toEqual({ role: 'user', content: 'What is the capital of Korea?' });
  });

  it('keeps the turns the summary does not cover yet after the summary', async () => {
    const { useCase, conversations, generation } = setup(6);
    conversations.addTurns(4);
    conversations.conversation.summary = 'Summary of turns 0-2.';
    conversations.conversation.summaryTurnIndex = 2;
    await drain((await useCase.execute(command({ rag: false }))).events);
    expect(generation.requests[0].messages.map((m) => m.content)).toEqual([
      expect.stringContaining('Summary of turns 0-2.'),
      'user 3',
      'assistant 3',
      'What is the capital of Korea?',
    ]);
  });

  it("charges the answer's completion tokens to the calling key's tokens-per-minute budget", async () => {
    const h = setup();
    const charged: [string, string, number][] = [];
    const limits = { consume: async (limit: string, keyId: string, points: number) => void charged.push([limit, keyId, points]) } as unknown as RateLimits;
    const useCase = new ChatUseCase(h.useCase['config'], h.conversations, h.retrieval, h.generation, h.events, h.useCase['rewriter'], h.metrics, limits);
    await drain((await useCase.execute(command({ keyId: 'key-1' }))).events);
    expect(charged).toEqual([['tokens', 'key-1', 3]]);
    // Without a key (an internal caller) nothing is charged.
    await drain((await useCase.execute(command())).events);
    expect(charged).toHaveLength(1);
  });

  it('streams deltas, then stores the turn with references and usage, publishes the event, then emits done', async () => {
    const { useCase, conversations, events } = setup();
    conversations.addTurns(1);
    const session = await useCase.execute(command({ sessionId: CONVERSATION_ID }));
    const emitted = await drain(session.events);

    expect(conversations.requestedIds).toEqual([CONVERSATION_ID]);
    expect(emitted).toEqual([
      { type: 'delta', text: 'Seoul ' },
      { type: 'delta', text: 'is the capital.' },
      { type: 'done', finishReason: 'stop', usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 }, model: 'local-extractive', turnIndex: 1 },
    ]);
    expect(conversations.recorded).toEqual([
      {
        conversationId: CONVERSATION_ID,
        question: 'What is the capital of Korea?',
        answer: 'Seoul is the capital.',
        model: 'local-extractive',
        references: session.references,
        usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 },
      },
    ]);
    expect(events.published).toEqual([
      expect.objectContaining({
        conversationId: CONVERSATION_ID,
        turnIndex: 1,
        answer: 'Seoul is the capital.',
        referenceChunkIds: ['doc-1#0'],
      }),
    ]);
  });

  it('still completes the turn when publishing the event fails (the answer is already stored)', async () => {
    const { useCase, conversations, events } = setup();
    events.fail = true;
    const emitted = await drain((await useCase.execute(command())).events);
    expect(conversations.recorded).toHaveLength(1);
    expect(emitted.at(-1)).toEqual(expect.objectContaining({ type: 'done' }));
  });

  it('stores nothing when generation fails, and surfaces the error', async () => {
    const { useCase, generation, conversations, events } = setup();
    const failure = Object.assign(new Error('upstream down'), { code: 14, details: 'upstream down' });
    generation.stream = () => throwError(() => failure);
    await expect(drain((await useCase.execute(command())).events)).rejects.toBe(failure);
    expect(conversations.recorded).toHaveLength(0);
    expect(events.published).toHaveLength(0);
  });

  it('cancels the upstream stream when the caller unsubscribes, and stores nothing', async () => {
    const { useCase, generation, conversations } = setup();
    const upstream = new Subject<GenerateChunk>();
    generation.stream = () => upstream;
    const session = await useCase.execute(command());
    const seen: ChatEvent[] = [];
    const subscription = session.events.subscribe((e) => seen.push(e));
    upstream.next({ delta: 'partial', finishReason: '', usage: undefined, model: '', upstream: '' });
    subscription.unsubscribe();
    expect(upstream.observed).toBe(false);
    expect(seen).toEqual([{ type: 'delta', text: 'partial' }]);
    expect(conversations.recorded).toHaveLength(0);
  });

  it('with only the local engine, reads the time expression by rule and passes it to retrieval as the window', async () => {
    const { useCase, retrieval, rewriteModel } = setup();
    const session = await useCase.execute(command({ messages: [{ role: 'user', content: '최근 3개월 공지사항 알려주세요' }] }));
    await drain(session.events);
    expect(rewriteModel.calls).toHaveLength(0);
    expect(retrieval.searches[0].query).toBe('공지사항 알려주세요');
    expect(retrieval.searches[0].timeRangeMonths).toBe(3);
    expect(Date.parse(retrieval.searches[0].timeAnchor!)).toBeGreaterThan(Date.now() - 60_000);
    expect(session.rewrite).toMatchObject({ source: 'rules', keywords: ['공지사항'], timeRange: { months: 3, expression: '최근 3개월' } });
  });

  it('searches again without the window read from the question when nothing matched inside it', async () => {
    const { useCase, retrieval } = setup();
    const search = retrieval.search.bind(retrieval);
    retrieval.search = async (request) => ((await search(request)), request.timeRangeMonths ? { results: [], tookMs: 1 } : { results: [HIT], tookMs: 1 });
    const session = await useCase.execute(command({ messages: [{ role: 'user', content: '최근 서울 소식' }] }));
    await drain(session.events);
    expect(retrieval.searches.map((s) => s.timeRangeMonths)).toEqual([3, undefined]);
    expect(session.references.map((r) => r.chunk_id)).toEqual(['doc-1#0']);
    expect(session.rewrite?.timeRange).toMatchObject({ months: 3, ignored: true });
  });

  it("a client's own time_range wins over the one read from the question", async () => {
    const { useCase, retrieval } = setup();
    await drain((await useCase.execute(command({ messages: [{ role: 'user', content: '작년 매출' }], searchOptions: { timeRangeMonths: 24 } }))).events);
    expect(retrieval.searches[0]).toMatchObject({ timeRangeMonths: 24, query: '작년 매출' });
    expect(retrieval.searches[0].timeAnchor).toBeUndefined();
  });

  it('stops asking the LLM when the proxy refuses the call itself', async () => {
    const { useCase, generation, rewriteModel } = setup();
    generation.models = [{ id: 'qwen', ownedBy: 'vllm', upstream: 'gpu-1', kind: 'openai-compatible' }];
    rewriteModel.answers = [Object.assign(new Error('no such model'), { code: 5, details: 'no such model', metadata: {} })];
    const session = await useCase.execute(command());
    await drain(session.events);
    expect(rewriteModel.calls).toHaveLength(1);
    expect(session.rewrite).toMatchObject({ source: 'fallback', attempts: 1 });
  });

  it('with an LLM upstream, retries a bad JSON rewrite with the reason and uses the valid one', async () => {
    const { useCase, retrieval, generation, rewriteModel } = setup();
    generation.models = [{ id: 'qwen', ownedBy: 'vllm', upstream: 'gpu-1', kind: 'openai-compatible' }];
    rewriteModel.answers = [
      'Sure! Here is the query.',
      '```json\n{"query": "2023 revenue", "keywords": ["revenue"], "table_intent": true, "time_range": {"start": "2023-01-01", "end": "2023-07-01"}}\n```',
    ];
    const session = await useCase.execute(command({ messages: [{ role: 'user', content: 'How much did we earn in the first half of 2023?' }] }));
    await drain(session.events);
    expect(rewriteModel.calls).toHaveLength(2);
    expect(rewriteModel.calls[1].messages.at(-1)?.content).toContain('no JSON object');
    expect(rewriteModel.calls[0].instruction).toContain('"time_range"');
    expect(retrieval.searches[0]).toMatchObject({ query: '2023 revenue', timeRangeMonths: 6, timeAnchor: '2023-07-01T00:00:00.000Z' });
    expect(session.rewrite).toMatchObject({ source: 'llm', attempts: 2, tableIntent: true });
  });

  it('falls back to the rules after the first call and three retries fail', async () => {
    const { useCase, retrieval, generation, rewriteModel } = setup();
    generation.models = [{ id: 'qwen', ownedBy: 'vllm', upstream: 'gpu-1', kind: 'openai-compatible' }];
    rewriteModel.answers = ['{"query": ""}', new Error('UNAVAILABLE'), '{not json', '{"query": "x", "time_range": {"start": "2024-05-01", "end": "2024-01-01"}}', 'unused'];
    const session = await useCase.execute(command({ messages: [{ role: 'user', content: 'sales last quarter' }] }));
    await drain(session.events);
    expect(rewriteModel.calls).toHaveLength(4);
    expect(session.rewrite).toMatchObject({ source: 'fallback', attempts: 4, query: 'sales' });
    expect(retrieval.searches[0].timeRangeMonths).toBe(3);
  });

  it('shows the LLM the stored conversation so it can resolve a follow-up', async () => {
    const { useCase, conversations, generation, rewriteModel } = setup();
    conversations.addTurns(3);
    generation.models = [{ id: 'qwen', ownedBy: 'vllm', upstream: 'gpu-1', kind: 'openai-compatible' }];
    rewriteModel.answers = ['{"query": "q"}'];
    await drain((await useCase.execute(command({ model: 'qwen' }))).events);
    expect(rewriteModel.calls[0].model).toBe('qwen');
    expect(rewriteModel.calls[0].messages.map((m) => m.content)).toEqual(['user 1', 'assistant 1', 'user 2', 'assistant 2', 'What is the capital of Korea?']);
  });

  it('drops the oldest memory to fit the token budget, never the question', async () => {
    const { useCase, conversations, generation } = setup(6, { CHAT_PROMPT_TOKEN_BUDGET: 60 });
    conversations.addTurns(3);
    conversations.messages.forEach((m) => (m.content = `${m.content} ${'word '.repeat(8)}`));
    const session = await useCase.execute(command({ rag: false }));
    await drain(session.events);
    const sent = generation.requests[0].messages.map((m) => m.content);
    expect(sent.at(-1)).toBe('What is the capital of Korea?');
    expect(sent.length).toBeLessThan(7);
    expect(sent[0]).toMatch(/^user \d/);
    expect(session.prompt!.droppedMemory).toBe(7 - sent.length);
    expect(session.prompt!.tokens).toBeLessThanOrEqual(60);
  });

  it('uses the configured persona when the request has none', async () => {
    const { useCase, generation } = setup(6, { CHAT_PERSONA: 'You are ragmesh.' });
    await drain((await useCase.execute(command({ rag: false }))).events);
    await drain((await useCase.execute(command({ rag: false, persona: 'Be terse.' }))).events);
    expect(generation.requests.map((r) => r.persona)).toEqual(['You are ragmesh.', 'Be terse.']);
  });

  it('passes image parts through as proto content parts', async () => {
    const { useCase, generation } = setup();
    const parts = [
      { type: 'text' as const, text: 'What is in this picture?' },
      { type: 'image_url' as const, imageUrl: 'https://example.com/cat.png', detail: 'low' },
    ];
    await drain((await useCase.execute(command({ rag: false, messages: [{ role: 'user', content: 'What is in this picture?', parts }] }))).events);
    expect(generation.requests[0].messages[0]).toEqual({
      role: 'user',
      content: 'What is in this picture?',
      contentParts: {
        parts: [
          { type: 'text', text: 'What is in this picture?', imageUrl: '', detail: '' },
          { type: 'image_url', text: '', imageUrl: 'https://example.com/cat.png', detail: 'low' },
        ],
      },
    });
  });

  it('rejects a conversation without a user message before touching anything', async () => {
    const { useCase, conversations } = setup();
    await expect(useCase.execute(command({ messages: [{ role: 'system', content: 'be brief' }] }))).rejects.toBeInstanceOf(MissingQuestionError);
    expect(conversations.requestedIds).toHaveLength(0);
  });
});
