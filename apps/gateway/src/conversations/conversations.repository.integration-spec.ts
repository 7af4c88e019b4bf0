import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { openServiceDataSource } from '@ragmesh/persistence';
import type { DataSource } from 'typeorm';
import { NotFound } from '../http/api-error';
import { dataSourceOptions } from '../persistence/data-source';
import { UnknownConversationError, type NewTurn, type StoredMessage, type SummaryUpdate } from './conversation.types';
import { ConversationsRepository, PgConversationsRepository, memoryStart } from './conversations.repository';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh';
const TENANT = 'repo-it';
const HISTORY_TURNS = 3;
const USAGE = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };

/** The abstract class's two-query openWithHistory over the same store: what the one-statement version must equal. */
class TwoQueries extends ConversationsRepository {
  constructor(private readonly pg: PgConversationsRepository) {
    super();
  }
  findOrCreate(id: string | undefined, tenant: string) {
    return this.pg.findOrCreate(id, tenant);
  }
  find(id: string, tenant: string) {
    return this.pg.find(id, tenant);
  }
  messagesBetween(id: string, from: number, before: number) {
    return this.pg.messagesBetween(id, from, before);
  }
  recordTurn(turn: NewTurn) {
    return this.pg.recordTurn(turn);
  }
  findReferences(id: string, turnIndex: number) {
    return this.pg.findReferences(id, turnIndex);
  }
  applySummary(update: SummaryUpdate) {
    return this.pg.applySummary(update);
  }
}

const texts = (messages: StoredMessage[]) => messages.map((m) => `${m.turnIndex}:${m.role}:${m.content}`);

describe('PgConversationsRepository (real PostgreSQL)', () => {
  let ds: DataSource;
  let repo: PgConversationsRepository;
  let reference: TwoQueries;

  beforeAll(async () => {
    ds = await openServiceDataSource(dataSourceOptions({ DATABASE_URL, DB_POOL_SIZE: 4 }));
    repo = new PgConversationsRepository(ds);
    reference = new TwoQueries(repo);
  });

  afterAll(async () => {
    await ds?.destroy();
  });

  const withTurns = async (n: number): Promise<string> => {
    const { id } = await repo.findOrCreate(undefined, TENANT);
    for (let i = 0; i < n; i++) {
      await repo.recordTurn({ conversationId: id, question: `q${i}`, answer: `a${i}`, model: 'm', references: [], usage: USAGE });
    }
    return id;
  };

  const summarize = (conversationId: string, upToTurnIndex: number, summary: string) =>
    repo.applySummary({ messageId: randomUUID(), conversationId, upToTurnIndex, summary });

  it('recordTurn stores both messages of a turn in one statement and numbers concurrent turns without gaps', async () => {
    const id = await withTurns(0);
    const indices = await Promise.all(
      Array.from({ length: 8 }, (_, i) => repo.recordTurn({ conversationId: id, question: `q${i}`, answer: `a${i}`, model: 'm', references: [], usage: USAGE })),
    );
    expect(indices.map((t) => t.turnIndex).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const messages = await repo.messagesBetween(id, 0, 8);
    expect(messages).toHaveLength(16);
    expect(messages.filter((m) => m.role === 'assistant').every((m) => m.model === 'm' && m.usage?.total_tokens === 3)).toBe(true);
    expect(messages.filter((m) => m.role === 'user').every((m) => m.model === null && m.usage === null)).toBe(true);
    expect((await repo.find(id, TENANT))?.turnCount).toBe(8);
    await expect(repo.recordTurn({ conversationId: randomUUID(), question: 'q', answer: 'a', model: 'm', references: [], usage: USAGE })).rejects.toBeInstanceOf(
      UnknownConversationError,
    );
  });

  it.each([
    ['a new conversation', 0, undefined],
    ['fewer turns than the window', 2, undefined],
    ['more turns than the window', 6, undefined],
    ['a summary behind the window', 6, 1],
    ['a summary inside the window', 6, 4],
    ['a summary covering every turn', 6, 5],
  ])('openWithHistory equals findOrCreate + messagesBetween: %s', async (_name, turns, summaryUpTo) => {
    const id = await withTurns(turns);
    if (summaryUpTo !== undefined) await summarize(id, summaryUpTo, `summary up to ${summaryUpTo}`);

    const one = await repo.openWithHistory(id, TENANT, HISTORY_TURNS);
    const two = await reference.openWithHistory(id, TENANT, HISTORY_TURNS);
    expect(one.conversation).toEqual(expect.objectContaining({ id, turnCount: turns, summaryTurnIndex: summaryUpTo ?? null }));
    expect(texts(one.messages)).toEqual(texts(two.messages));
    const from = memoryStart(one.conversation, HISTORY_TURNS);
    expect(one.messages).toHaveLength(2 * (turns - from));
    expect(one.messages[0]?.turnIndex ?? from).toBe(from);
  });

  it('openWithHistory creates a conversation without an id and hides another tenant’s', async () => {
    const created = await repo.openWithHistory(undefined, TENANT, HISTORY_TURNS);
    expect(created.messages).toEqual([]);
    expect((await repo.find(created.conversation.id, TENANT))?.turnCount).toBe(0);
    const id = await withTurns(1);
    await expect(repo.openWithHistory(id, 'another-tenant', HISTORY_TURNS)).rejects.toBeInstanceOf(NotFound);
  });

  it('records the first turn of a new conversation, storing its row with it', async () => {
    const { conversation } = await repo.openWithHistory(undefined, TENANT, HISTORY_TURNS);
    await expect(repo.recordTurn({ conversationId: conversation.id, question: 'q0', answer: 'a0', model: 'm', references: [], usage: USAGE })).resolves.toEqual({
      turnIndex: 0,
    });
    expect((await repo.find(conversation.id, TENANT))?.turnCount).toBe(1);
    expect(await repo.find(conversation.id, 'another-tenant')).toBeNull();
  });

  it('stores a new conversation with its first turn, and never into another tenant’s row', async () => {
    const { conversation } = await repo.openWithHistory(undefined, TENANT, HISTORY_TURNS);
    const [before] = await ds.query(`SELECT count(*)::int AS n FROM gateway.conversations WHERE id = $1`, [conversation.id]);
    expect(before).toEqual({ n: 0 });
    const first = { conversationId: conversation.id, question: 'q0', answer: 'a0', model: 'm', references: [], usage: USAGE };
    await expect(repo.recordTurn(first)).resolves.toEqual({ turnIndex: 0 });
    await expect(repo.recordTurn({ ...first, question: 'q1' })).resolves.toEqual({ turnIndex: 1 });
    expect(await repo.find(conversation.id, TENANT)).toMatchObject({ turnCount: 2 });
    expect(texts(await repo.messagesBetween(conversation.id, 0, 2))).toEqual(['0:user:q0', '0:assistant:a0', '1:user:q1', '1:assistant:a0']);

    const taken = await repo.openWithHistory(undefined, TENANT, HISTORY_TURNS);
    await ds.query(`INSERT INTO gateway.conversations (id, tenant) VALUES ($1, 'another-tenant')`, [taken.conversation.id]);
    await expect(repo.recordTurn({ ...first, conversationId: taken.conversation.id })).rejects.toBeInstanceOf(UnknownConversationError);
    const [row] = await ds.query(`SELECT tenant, turn_count FROM gateway.conversations WHERE id = $1`, [taken.conversation.id]);
    expect(row).toEqual({ tenant: 'another-tenant', turn_count: 0 });
  });

  it('stores a new conversation whose first turn ended unrecorded, and records its next turn', async () => {
    const { conversation } = await repo.openWithHistory(undefined, TENANT, HISTORY_TURNS);
    repo.releaseNew(conversation.id);
    // Its next turn waits for the row the release is storing.
    await expect(
      repo.recordTurn({ conversationId: conversation.id, question: 'q0', answer: 'a0', model: 'm', references: [], usage: USAGE }),
    ).resolves.toEqual({ turnIndex: 0 });
    const [row] = await ds.query(`SELECT tenant, turn_count FROM gateway.conversations WHERE id = $1`, [conversation.id]);
    expect(row).toEqual({ tenant: TENANT, turn_count: 1 });

    const abandoned = await repo.openWithHistory(undefined, TENANT, HISTORY_TURNS);
    repo.releaseNew(abandoned.conversation.id);
    // A fresh repository (another gateway) sees the stored row once the insert landed.
    const other = new PgConversationsRepository(ds);
    let found = await other.find(abandoned.conversation.id, TENANT);
    for (let i = 0; i < 50 && !found; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      found = await other.find(abandoned.conversation.id, TENANT);
    }
    expect(found).toMatchObject({ id: abandoned.conversation.id, turnCount: 0 });
    expect(await other.find(abandoned.conversation.id, 'another-tenant')).toBeNull();
  });
});
