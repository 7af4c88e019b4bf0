import { Logger } from '@nestjs/common';
import { lastValueFrom, Observable, of, Subject, throwError, toArray } from 'rxjs';
import type { Conversation, NewTurn, Reference, StoredMessage, SummaryOutcome, SummaryUpdate } from '../conversations/conversation.types';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { GenerationRepository, type GenerateChunk, type GenerateRequest, type ModelInfo } from '../grpc/generation.repository';
import { RetrievalRepository, type IngestDocumentResponse, type ScoredChunk, type SearchRequest } from '../grpc/retrieval.repository';
import { EventsRepository, type TurnCompleted } from '../messaging/events.repository';
import { ChatCommand, ChatEvent, ChatUseCase, MissingQuestionError } from './chat.use-case';

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
  async listModels(): Promise<ModelInfo[]> {
    return [];
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

function setup(historyTurns = 6) {
  const conversations = new FakeConversations();
  const retrieval = new FakeRetrieval();
  const generation = new FakeGeneration();
  const events = new FakeEvents();
  const useCase = new ChatUseCase({ CHAT_HISTORY_TURNS: historyTurns, CHAT_TOP_K: 5 }, conversations, retrieval, generation, events);
  return { conversations, retrieval, generation, events, useCase };
}

const command = (over: Partial<ChatCommand> = {}): ChatCommand => ({
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

  it('rejects a conversation without a user message before touching anything', async () => {
    const { useCase, conversations } = setup();
    await expect(useCase.execute(command({ messages: [{ role: 'system', content: 'be brief' }] }))).rejects.toBeInstanceOf(MissingQuestionError);
    expect(conversations.requestedIds).toHaveLength(0);
  });
});
