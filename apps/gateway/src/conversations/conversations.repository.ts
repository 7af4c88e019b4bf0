import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, QueryRunner } from 'typeorm';
import { DATA_SOURCE, pgPoolOf } from '@ragmesh/persistence';
import { NotFound } from '../http/api-error';
import {
  Conversation,
  MessageRole,
  NewTurn,
  Reference,
  StoredMessage,
  SummaryOutcome,
  SummaryUpdate,
  TurnUsage,
  UnknownConversationError,
} from './conversation.types';

/** Conversations and their messages, as the use-cases see them. */
export abstract class ConversationsRepository {
  /**
   * The tenant's conversation with this id, created when missing; a new one when no id is given.
   * Throws NotFound when the id belongs to another tenant.
   */
  abstract findOrCreate(id: string | undefined, tenant: string): Promise<Conversation>;
  /**
   * findOrCreate and the messages of the turns a prompt remembers (from memoryStart on), before the first token.
   * This default takes two round trips; the PostgreSQL one takes one, and none for a new conversation (no id): it has
   * no memory, and its row is stored with its first turn (recordTurn), or by releaseNew when that turn is not recorded.
   */
  async openWithHistory(id: string | undefined, tenant: string, historyTurns: number): Promise<ConversationWithHistory> {
    const conversation = await this.findOrCreate(id, tenant);
    const from = memoryStart(conversation, historyTurns);
    const messages = from < conversation.turnCount ? await this.messagesBetween(conversation.id, from, conversation.turnCount) : [];
    return { conversation, messages };
  }
  /** Null for another tenant's conversation too: its existence is not the caller's to know. */
  abstract find(id: string, tenant: string): Promise<Conversation | null>;
  /** Messages of turns in [fromTurnIndex, beforeTurnIndex), oldest first, user before assistant. */
  abstract messagesBetween(conversationId: string, fromTurnIndex: number, beforeTurnIndex: number): Promise<StoredMessage[]>;
  /** Stores both messages of a turn and bumps the conversation in one transaction; the turn index is assigned here. */
  abstract recordTurn(turn: NewTurn): Promise<{ turnIndex: number }>;
  abstract findReferences(conversationId: string, turnIndex: number): Promise<Reference[] | null>;
  /** Idempotent by `messageId`; throws UnknownConversationError when the conversation does not exist. */
  abstract applySummary(update: SummaryUpdate): Promise<SummaryOutcome>;
  /**
   * The first turn of a conversation openWithHistory started without an id has ended (recorded, failed or
   * cancelled): a row recordTurn did not store is stored now, since the client holds the id. Never throws.
   */
  releaseNew(_id: string): void {
    // Repositories that store a new conversation when they open it have nothing left to do.
  }
}

export interface ConversationWithHistory {
  conversation: Conversation;
  /** Oldest first, user before assistant. */
  messages: StoredMessage[];
}

/**
 * The first turn a prompt remembers: the last `historyTurns` turns, but none the rolling summary covers
 * (turns the summarizer has not reached yet still follow it). The SQL in openWithHistory mirrors this.
 */
export function memoryStart(conversation: Conversation, historyTurns: number): number {
  let from = conversation.turnCount - historyTurns;
  if (conversation.summary) from = Math.max(from, (conversation.summaryTurnIndex ?? -1) + 1);
  return Math.max(from, 0);
}

interface UnstoredConversation {
  tenant: string;
  createdAt: Date;
}

interface ConversationRow {
  id: string;
  summary: string | null;
  summary_turn_index: number | null;
  turn_count: number;
  created_at: Date;
  updated_at: Date;
}

interface MessageRow {
  turn_index: number;
  role: MessageRole;
  content: string;
  model: string | null;
  references: Reference[];
  usage: TurnUsage | null;
  created_at: Date;
}

const CONVERSATION_COLUMNS = 'id, summary, summary_turn_index, turn_count, created_at, updated_at';

/** $1 id (null: a new one), $2 tenant. The no-op update returns the existing row, but only the owner's: another tenant's id returns nothing. */
const UPSERT_CONVERSATION = `INSERT INTO gateway.conversations (id, tenant) VALUES (coalesce($1::uuid, gen_random_uuid()), $2)
  ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id WHERE conversations.tenant = EXCLUDED.tenant
  RETURNING ${CONVERSATION_COLUMNS}`;

/** $1 id made by this process, $2 tenant. Nothing returned: the id is taken (by a follow-up turn already, or, never in practice, by another tenant). */
const INSERT_NEW_CONVERSATION = `INSERT INTO gateway.conversations (id, tenant) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id`;

/** recordTurn's counter bump for a conversation whose row exists. $1 id. */
const BUMP_TURN = `UPDATE gateway.conversations SET turn_count = turn_count + 1, updated_at = now()
         WHERE id = $1 RETURNING id, turn_count - 1 AS turn_index`;

/** The bump for a new conversation whose early insert failed: creates the row or bumps it, the owner's only. $1 id, $7 tenant. */
const CREATE_OR_BUMP_TURN = `INSERT INTO gateway.conversations AS c (id, tenant, turn_count) VALUES ($1, $7, 1)
         ON CONFLICT (id) DO UPDATE SET turn_count = c.turn_count + 1, updated_at = now() WHERE c.tenant = EXCLUDED.tenant
         RETURNING id, turn_count - 1 AS turn_index`;

/**
 * New conversations whose row is not stored yet, kept for recordTurn to create it with the first turn. Bounded as a
 * backstop for turns whose release never comes (a session nobody subscribed to): the oldest is then stored as it is.
 */
const MAX_UNSTORED_NEW_CONVERSATIONS = 10_000;

/** A message's columns as openWithHistory's join names them. */
interface HistoryColumns {
  m_turn_index: number;
  m_role: MessageRole;
  m_content: string;
  m_model: string | null;
  m_references: Reference[];
  m_usage: TurnUsage | null;
  m_created_at: Date;
}

const historyMessage = (r: HistoryColumns): MessageRow => ({
  turn_index: r.m_turn_index,
  role: r.m_role,
  content: r.m_content,
  model: r.m_model,
  references: r.m_references,
  usage: r.m_usage,
  created_at: r.m_created_at,
});

const newConversation = (id: string, createdAt: Date): Conversation => ({
  id,
  summary: null,
  summaryTurnIndex: null,
  turnCount: 0,
  createdAt,
  updatedAt: createdAt,
});

const toConversation = (r: ConversationRow): Conversation => ({
  id: r.id,
  summary: r.summary,
  summaryTurnIndex: r.summary_turn_index,
  turnCount: r.turn_count,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toMessage = (r: MessageRow): StoredMessage => ({
  turnIndex: r.turn_index,
  role: r.role,
  content: r.content,
  model: r.model,
  references: r.references,
  usage: r.usage,
  createdAt: r.created_at,
});


/** The statements every chat turn runs, by the name each is prepared under (once per pooled connection). */
const HOT_STATEMENTS = {
  openWithHistory: `WITH c AS (${UPSERT_CONVERSATION})
       SELECT c.*, m.turn_index AS m_turn_index, m.role AS m_role, m.content AS m_content, m.model AS m_model,
              m."references" AS m_references, m.usage AS m_usage, m.created_at AS m_created_at
       FROM c LEFT JOIN gateway.messages m ON m.conversation_id = c.id AND m.turn_index < c.turn_count
         AND m.turn_index >= greatest(c.turn_count - $3::int,
               CASE WHEN coalesce(c.summary, '') <> '' THEN coalesce(c.summary_turn_index, -1) + 1 ELSE 0 END, 0)
       ORDER BY m.turn_index, CASE m.role WHEN 'user' THEN 0 ELSE 1 END`,
  insertNewConversation: INSERT_NEW_CONVERSATION,
  recordTurn: recordTurnSql(BUMP_TURN),
  recordFirstTurn: recordTurnSql(CREATE_OR_BUMP_TURN),
} as const;

function recordTurnSql(bump: string): string {
  return `WITH bumped AS (${bump})
       INSERT INTO gateway.messages (conversation_id, turn_index, role, content, model, "references", usage)
       SELECT bumped.id, bumped.turn_index, m.role, m.content, m.model, m.refs, m.usage
       FROM bumped CROSS JOIN (VALUES
         ('user', $2::text, NULL::text, '[]'::jsonb, NULL::jsonb),
         ('assistant', $3::text, $4::text, $5::jsonb, $6::jsonb)
       ) AS m(role, content, model, refs, usage)
       RETURNING turn_index`;
}

/** TypeORM's raw query returns [rows, count] for UPDATE; the structured result is uniform. */
async function rows<T>(runner: QueryRunner, sql: string, params: unknown[]): Promise<{ records: T[]; affected: number }> {
  const result = await runner.query(sql, params, true);
  return { records: result.records as T[], affected: result.affected ?? 0 };
}

@Injectable()
export class PgConversationsRepository extends ConversationsRepository {
  private readonly logger = new Logger('conversations');
  /** New conversations' row inserts still running (first turn not recorded, or pushed out of `unstored`), by id. */
  private readonly inserting = new Map<string, Promise<boolean>>();
  /** New conversations whose row is not stored: recordTurn stores it with the first turn. */
  private readonly unstored = new Map<string, UnstoredConversation>();

  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {
    super();
  }

  /**
   * A chat turn's statements skip TypeORM's query runner (an object, logger hooks and a pool release per
   * statement, more CPU than node-postgres' own query) and are prepared once per connection, not parsed
   * per turn. Other data sources (the unit tests') take the ordinary path.
   */
  private hot<T>(name: keyof typeof HOT_STATEMENTS, values: unknown[]): Promise<T[]> {
    const pool = pgPoolOf(this.ds);
    if (!pool) return this.ds.query<T[]>(HOT_STATEMENTS[name], values);
    return pool.query({ name: `gateway.${name}`, text: HOT_STATEMENTS[name], values }).then((result) => result.rows as T[]);
  }

  async findOrCreate(id: string | undefined, tenant: string): Promise<Conversation> {
    const rows = await this.ds.query<ConversationRow[]>(UPSERT_CONVERSATION, [id ?? null, tenant]);
    if (!rows[0]) throw new NotFound(`conversation ${id ?? ''} not found`);
    return toConversation(rows[0]);
  }

  override async openWithHistory(id: string | undefined, tenant: string, historyTurns: number): Promise<ConversationWithHistory> {
    if (id === undefined) return { conversation: this.startNew(tenant), messages: [] };
    // The conversation row and its remembered messages in one statement: one round trip before the first token.
    const joined = await this.hot<ConversationRow & Partial<HistoryColumns>>('openWithHistory', [id ?? null, tenant, historyTurns]);
    if (!joined[0]) throw new NotFound(`conversation ${id ?? ''} not found`);
    const messages = joined.filter((r) => r.m_turn_index != null).map((r) => toMessage(historyMessage(r as HistoryColumns)));
    return { conversation: toConversation(joined[0]), messages };
  }

  async find(id: string, tenant: string): Promise<Conversation | null> {
    // Read-your-writes within this process: a client may ask for the conversation its stream just named.
    await this.inserting.get(id);
    const rows = await this.ds.query<ConversationRow[]>(`SELECT ${CONVERSATION_COLUMNS} FROM gateway.conversations WHERE id = $1 AND tenant = $2`, [
      id,
      tenant,
    ]);
    if (rows[0]) return toConversation(rows[0]);
    // Started here, first turn still running: it exists for its tenant, with no turns yet.
    const started = this.unstored.get(id);
    return started?.tenant === tenant ? newConversation(id, started.createdAt) : null;
  }

  async messagesBetween(conversationId: string, fromTurnIndex: number, beforeTurnIndex: number): Promise<StoredMessage[]> {
    const rows = await this.ds.query<MessageRow[]>(
      `SELECT turn_index, role, content, model, "references", usage, created_at FROM gateway.messages
       WHERE conversation_id = $1 AND turn_index >= $2 AND turn_index < $3
       ORDER BY turn_index, CASE role WHEN 'user' THEN 0 ELSE 1 END`,
      [conversationId, fromTurnIndex, beforeTurnIndex],
    );
    return rows.map(toMessage);
  }

  async recordTurn(turn: NewTurn): Promise<{ turnIndex: number }> {
    // One statement is one transaction: both messages and the bump commit together, in one round trip and one pooled
    // connection held for it alone. The UPDATE locks the counter row: concurrent turns of one conversation serialize here.
    // A new conversation's row is created here with its first turn; if releaseNew or an eviction is storing it, wait for that.
    await this.inserting.get(turn.conversationId);
    const tenant = this.unstored.get(turn.conversationId)?.tenant;
    const stored = await this.hot<{ turn_index: number }>(tenant === undefined ? 'recordTurn' : 'recordFirstTurn', [
      turn.conversationId,
      turn.question,
      turn.answer,
      turn.model,
      JSON.stringify(turn.references),
      JSON.stringify(turn.usage),
      ...(tenant === undefined ? [] : [tenant]),
    ]);
    if (tenant !== undefined) this.unstored.delete(turn.conversationId);
    const turnIndex = stored[0]?.turn_index;
    if (turnIndex === undefined) throw new UnknownConversationError(turn.conversationId);
    return { turnIndex };
  }

  /**
   * The id is made here and nothing is written: the row is stored with the first turn, in recordTurn's statement
   * (one statement per turn instead of two), or by releaseNew when that turn ends unrecorded.
   */
  private startNew(tenant: string): Conversation {
    const id = randomUUID();
    const createdAt = new Date();
    this.unstored.set(id, { tenant, createdAt });
    if (this.unstored.size > MAX_UNSTORED_NEW_CONVERSATIONS) {
      const [oldest, entry] = this.unstored.entries().next().value as [string, UnstoredConversation];
      this.unstored.delete(oldest);
      this.store(oldest, entry);
    }
    return newConversation(id, createdAt);
  }

  override releaseNew(id: string): void {
    const entry = this.unstored.get(id);
    if (!entry) return;
    this.unstored.delete(id);
    this.store(id, entry);
  }

  /** Inserts a new conversation's row in the background; recordTurn and find for its id wait for it. */
  private store(id: string, entry: UnstoredConversation): void {
    const insert = this.hot<{ id: string }>('insertNewConversation', [id, entry.tenant])
      .then(
        // No row back is a conflict: the row exists already (its first turn got there first), nothing left to store.
        () => true,
        (err: unknown) => {
          this.logger.warn(`conversation ${id} not stored yet; its next turn will store it: ${String(err)}`);
          return false;
        },
      )
      .then((stored) => {
        // Done before anyone awaiting the insert goes on: recordTurn reads `unstored` right after.
        this.inserting.delete(id);
        if (!stored && this.unstored.size < MAX_UNSTORED_NEW_CONVERSATIONS) this.unstored.set(id, entry);
        return stored;
      });
    this.inserting.set(id, insert);
  }

  async findReferences(conversationId: string, turnIndex: number): Promise<Reference[] | null> {
    const rows = await this.ds.query<{ references: Reference[] }[]>(
      `SELECT "references" FROM gateway.messages WHERE conversation_id = $1 AND turn_index = $2 AND role = 'assistant'`,
      [conversationId, turnIndex],
    );
    return rows[0] ? rows[0].references : null;
  }

  applySummary(update: SummaryUpdate): Promise<SummaryOutcome> {
    return this.ds.transaction(async (manager) => {
      const runner = manager.queryRunner;
      if (!runner) throw new Error('transaction without a query runner');
      const recorded = await rows<{ id: string }>(
        runner,
        `INSERT INTO gateway.processed_messages (id) VALUES ($1) ON CONFLICT (id) DO NOTHING RETURNING id`,
        [update.messageId],
      );
      if (recorded.records.length === 0) return 'duplicate';
      // Summaries can arrive out of order; an older one must not overwrite a newer one.
      const updated = await rows<{ id: string }>(
        runner,
        `UPDATE gateway.conversations SET summary = $2, summary_turn_index = $3, updated_at = now()
         WHERE id = $1 AND (summary_turn_index IS NULL OR summary_turn_index <= $3) RETURNING id`,
        [update.conversationId, update.summary, update.upToTurnIndex],
      );
      if (updated.records.length > 0) return 'applied';
      const exists = await rows<{ id: string }>(runner, `SELECT id FROM gateway.conversations WHERE id = $1`, [update.conversationId]);
      if (exists.records.length === 0) throw new UnknownConversationError(update.conversationId);
      return 'stale';
    });
  }
}
