import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { NewTurn } from './conversation.types';
import { PgConversationsRepository } from './conversations.repository';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const USAGE = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };

/** Records each statement and answers it when the test says so: what the driver would be asked, in order. */
class ScriptedDataSource {
  calls: { sql: string; params: unknown[]; answer: (rows: unknown) => void; fail: (err: Error) => void }[] = [];
  query(sql: string, params: unknown[]): Promise<unknown> {
    return new Promise((answer, fail) => this.calls.push({ sql, params, answer, fail }));
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const turn = (conversationId: string): NewTurn => ({ conversationId, question: 'q', answer: 'a', model: 'm', references: [], usage: USAGE });

describe('PgConversationsRepository: a new conversation', () => {
  beforeAll(() => Logger.overrideLogger(false));

  const setup = () => {
    const ds = new ScriptedDataSource();
    return { ds, repo: new PgConversationsRepository(ds as unknown as DataSource) };
  };

  it('answers at once with an id made here and no memory, writing nothing yet', async () => {
    const { ds, repo } = setup();
    const opened = await repo.openWithHistory(undefined, 'tenant-a', 6);
    expect(opened.messages).toEqual([]);
    expect(opened.conversation).toMatchObject({ id: expect.stringMatching(UUID), turnCount: 0, summary: null, summaryTurnIndex: null });
    expect(ds.calls).toHaveLength(0);
    const other = await repo.openWithHistory(undefined, 'tenant-a', 6);
    expect(other.conversation.id).not.toBe(opened.conversation.id);
  });

  it('stores the row with the first turn in one statement, then bumps it plainly', async () => {
    const { ds, repo } = setup();
    const { conversation } = await repo.openWithHistory(undefined, 'tenant-a', 6);
    const first = repo.recordTurn(turn(conversation.id));
    await settle();
    expect(ds.calls).toHaveLength(1);
    expect(ds.calls[0].sql).toMatch(/INSERT INTO gateway\.conversations AS c \(id, tenant, turn_count\) VALUES \(\$1, \$7, 1\)/);
    expect(ds.calls[0].sql).toContain('WHERE c.tenant = EXCLUDED.tenant');
    expect(ds.calls[0].params[0]).toBe(conversation.id);
    expect(ds.calls[0].params[6]).toBe('tenant-a');
    ds.calls[0].answer([{ turn_index: 0 }, { turn_index: 0 }]);
    await expect(first).resolves.toEqual({ turnIndex: 0 });
    // Stored now: the next turn is a plain bump, and releasing the conversation writes nothing more.
    repo.releaseNew(conversation.id);
    const next = repo.recordTurn(turn(conversation.id));
    await settle();
    expect(ds.calls).toHaveLength(2);
    expect(ds.calls[1].sql).toContain('UPDATE gateway.conversations SET turn_count = turn_count + 1');
    expect(ds.calls[1].params).toHaveLength(6);
    ds.calls[1].answer([{ turn_index: 1 }]);
    await expect(next).resolves.toEqual({ turnIndex: 1 });
  });

  it('stores the row when the first turn ends unrecorded, and the next turn waits for that insert', async () => {
    const { ds, repo } = setup();
    const { conversation } = await repo.openWithHistory(undefined, 'tenant-a', 6);
    repo.releaseNew(conversation.id);
    expect(ds.calls).toHaveLength(1);
    expect(ds.calls[0].sql).toMatch(/^INSERT INTO gateway\.conversations \(id, tenant\) VALUES \(\$1, \$2\) ON CONFLICT \(id\) DO NOTHING/);
    expect(ds.calls[0].params).toEqual([conversation.id, 'tenant-a']);
    repo.releaseNew(conversation.id); // once only
    expect(ds.calls).toHaveLength(1);
    const recorded = repo.recordTurn(turn(conversation.id));
    await settle();
    expect(ds.calls).toHaveLength(1); // waiting for the insert
    ds.calls[0].answer([{ id: conversation.id }]);
    await settle();
    expect(ds.calls[1].sql).toContain('UPDATE gateway.conversations SET turn_count = turn_count + 1');
    ds.calls[1].answer([{ turn_index: 0 }]);
    await expect(recorded).resolves.toEqual({ turnIndex: 0 });
  });

  it('creates the row with the first turn when the insert at release failed', async () => {
    const { ds, repo } = setup();
    const { conversation } = await repo.openWithHistory(undefined, 'tenant-a', 6);
    repo.releaseNew(conversation.id);
    ds.calls[0].fail(new Error('connection reset'));
    await settle();
    const recorded = repo.recordTurn(turn(conversation.id));
    await settle();
    expect(ds.calls[1].sql).toMatch(/INSERT INTO gateway\.conversations AS c \(id, tenant, turn_count\) VALUES \(\$1, \$7, 1\)/);
    expect(ds.calls[1].params[6]).toBe('tenant-a');
    ds.calls[1].answer([{ turn_index: 0 }, { turn_index: 0 }]);
    await expect(recorded).resolves.toEqual({ turnIndex: 0 });
  });

  it('finds a started conversation for its tenant only before its row exists, and keeps one statement for a conversation named by the client', async () => {
    const { ds, repo } = setup();
    const { conversation } = await repo.openWithHistory(undefined, 'tenant-a', 6);
    const found = repo.find(conversation.id, 'tenant-a');
    await settle();
    expect(ds.calls[0].sql).toMatch(/^SELECT .* FROM gateway\.conversations WHERE id = \$1 AND tenant = \$2/);
    ds.calls[0].answer([]);
    await expect(found).resolves.toMatchObject({ id: conversation.id, turnCount: 0 });
    const foreign = repo.find(conversation.id, 'tenant-b');
    await settle();
    ds.calls[1].answer([]);
    await expect(foreign).resolves.toBeNull();

    const named = repo.openWithHistory(conversation.id, 'tenant-a', 6);
    await settle();
    expect(ds.calls).toHaveLength(3);
    expect(ds.calls[2].sql).toMatch(/^WITH c AS \(INSERT INTO gateway\.conversations/);
    ds.calls[2].answer([{ id: conversation.id, summary: null, summary_turn_index: null, turn_count: 0, created_at: new Date(), updated_at: new Date() }]);
    await expect(named).resolves.toMatchObject({ conversation: { id: conversation.id }, messages: [] });
  });
});
