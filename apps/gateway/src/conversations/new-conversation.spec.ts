import { Logger } from '@nestjs/common';
import { MetricsService } from '@ragmesh/observability';
import { Registry } from 'prom-client';
import { lastValueFrom, Observable, Subject, toArray } from 'rxjs';
import type { DataSource } from 'typeorm';
import { ChatMetrics } from '../chat/chat.metrics';
import { ChatUseCase, type ChatCommand, type ChatConfig } from '../chat/chat.use-case';
import type { QueryRewriter } from '../chat/query-rewriter';
import type { GenerateChunk, GenerationRepository } from '../grpc/generation.repository';
import type { RetrievalRepository } from '../grpc/retrieval.repository';
import { EventsRepository, type TurnCompleted } from '../messaging/events.repository';
import { PgConversationsRepository } from './conversations.repository';

/** Answers every statement as PostgreSQL would for one new conversation, and keeps what it was asked. */
class RecordingDataSource {
  statements: { sql: string; params: unknown[] }[] = [];
  async query(sql: string, params: unknown[]): Promise<unknown[]> {
    this.statements.push({ sql, params });
    if (sql.startsWith('INSERT INTO gateway.conversations (id, tenant)')) return [{ id: params[0] }];
    if (sql.includes('INSERT INTO gateway.messages')) return [{ turn_index: 0 }, { turn_index: 0 }];
    return [];
  }
}

class RecordingEvents extends EventsRepository {
  published: TurnCompleted[] = [];
  async turnCompleted(payload: TurnCompleted): Promise<void> {
    this.published.push(payload);
  }
}

const chunk = (over: Partial<GenerateChunk>): GenerateChunk => ({ delta: '', finishReason: '', usage: undefined, model: '', upstream: '', ...over });
const CONFIG: ChatConfig = { CHAT_HISTORY_TURNS: 6, CHAT_TOP_K: 5, CHAT_PROMPT_TOKEN_BUDGET: 100_000, CHAT_PERSONA: '' };
const COMMAND: ChatCommand = { tenant: 'tenant-a', messages: [{ role: 'user', content: 'What is the refund window?' }], rag: false };
const isEarlyInsert = (sql: string) => sql.startsWith('INSERT INTO gateway.conversations (id, tenant) VALUES ($1, $2)');
const settle = () => new Promise((resolve) => setImmediate(resolve));

function setup() {
  const ds = new RecordingDataSource();
  const upstream = new Subject<GenerateChunk>();
  const generation = { generateStream: () => new Observable<GenerateChunk>((s) => upstream.subscribe(s)) } as unknown as GenerationRepository;
  const events = new RecordingEvents();
  const metrics = new ChatMetrics(new MetricsService(undefined, new Registry()));
  const useCase = new ChatUseCase(
    CONFIG,
    new PgConversationsRepository(ds as unknown as DataSource),
    {} as RetrievalRepository,
    generation,
    events,
    {} as QueryRewriter,
    metrics,
  );
  return { ds, upstream, events, useCase };
}

describe('a new conversation (no session id) through a chat turn', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('is stored by the turn’s own statement: one statement for the whole turn, before `done`', async () => {
    const { ds, upstream, events, useCase } = setup();
    const session = await useCase.execute(COMMAND);
    expect(ds.statements).toHaveLength(0);
    const received = lastValueFrom(session.events.pipe(toArray()));
    upstream.next(chunk({ delta: 'Fourteen days.' }));
    upstream.next(chunk({ finishReason: 'stop', usage: { promptTokens: 5, completionTokens: 3, totalTokens: 8 }, model: 'fake-model' }));
    upstream.complete();
    const all = await received;
    expect(all.at(-1)).toMatchObject({ type: 'done', turnIndex: 0 });
    expect(ds.statements).toHaveLength(1);
    expect(ds.statements[0].sql).toContain('INSERT INTO gateway.conversations AS c (id, tenant, turn_count) VALUES ($1, $7, 1)');
    expect(ds.statements[0].params).toEqual([session.conversationId, 'What is the refund window?', 'Fourteen days.', 'fake-model', '[]', expect.any(String), 'tenant-a']);
    expect(events.published).toMatchObject([{ conversationId: session.conversationId, turnIndex: 0 }]);
  });

  it('is stored when generation fails, since the client already holds its id', async () => {
    const { ds, upstream, useCase } = setup();
    const session = await useCase.execute(COMMAND);
    const received = lastValueFrom(session.events);
    upstream.error(new Error('upstream unavailable'));
    await expect(received).rejects.toThrow('upstream unavailable');
    expect(ds.statements.map((s) => s.sql).filter(isEarlyInsert)).toHaveLength(1);
    expect(ds.statements[0].params).toEqual([session.conversationId, 'tenant-a']);
  });

  it('is stored when the client leaves mid-answer', async () => {
    const { ds, upstream, useCase } = setup();
    const session = await useCase.execute(COMMAND);
    const subscription = session.events.subscribe();
    upstream.next(chunk({ delta: 'Four' }));
    subscription.unsubscribe();
    await settle();
    expect(ds.statements).toEqual([{ sql: expect.stringMatching(/^INSERT INTO gateway\.conversations \(id, tenant\)/), params: [session.conversationId, 'tenant-a'] }]);
  });

  it('leaves nothing pending when the turn fails before generation (retrieval down)', async () => {
    const ds = new RecordingDataSource();
    const conversations = new PgConversationsRepository(ds as unknown as DataSource);
    const released = jest.spyOn(conversations, 'releaseNew');
    const retrieval = { search: () => Promise.reject(new Error('retrieval unavailable')) } as unknown as RetrievalRepository;
    const rewriter = { rewrite: async ({ question }: { question: string }) => ({ query: question, keywords: [], tableIntent: false, source: 'rules' }) } as unknown as QueryRewriter;
    const metrics = new ChatMetrics(new MetricsService(undefined, new Registry()));
    const useCase = new ChatUseCase(CONFIG, conversations, retrieval, {} as GenerationRepository, new RecordingEvents(), rewriter, metrics);
    await expect(useCase.execute({ ...COMMAND, rag: true })).rejects.toThrow('retrieval unavailable');
    await settle();
    expect(released).toHaveBeenCalledTimes(1);
    const [id] = released.mock.calls[0];
    // Settled like a failed turn: its row is stored (as before this session, when it was stored at open) and it no longer waits in memory.
    expect(ds.statements).toEqual([{ sql: expect.stringMatching(/^INSERT INTO gateway\.conversations \(id, tenant\)/), params: [id, 'tenant-a'] }]);
  });

  it('a conversation the client names is not touched when its turn ends', async () => {
    const { ds, upstream, useCase } = setup();
    const id = '0b8e8f7e-3f7c-4a57-9c55-0b1d8a8a0c11';
    ds.query = async function (sql: string, params: unknown[]) {
      this.statements.push({ sql, params });
      if (sql.startsWith('WITH c AS')) return [{ id, summary: null, summary_turn_index: null, turn_count: 0, created_at: new Date(), updated_at: new Date() }];
      return [];
    };
    const session = await useCase.execute({ ...COMMAND, sessionId: id });
    const subscription = session.events.subscribe();
    subscription.unsubscribe();
    upstream.complete();
    await settle();
    expect(ds.statements.map((s) => s.sql).filter(isEarlyInsert)).toHaveLength(0);
  });
});
