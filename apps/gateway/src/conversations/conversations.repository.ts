import { Inject, Injectable } from '@nestjs/common';
import { DataSource, QueryRunner } from 'typeorm';
import { DATA_SOURCE } from '@ragmesh/persistence';
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
  /** Null for another tenant's conversation too: its existence is not the caller's to know. */
  abstract find(id: string, tenant: string): Promise<Conversation | null>;
  /** Messages of turns in [fromTurnIndex, beforeTurnIndex), oldest first, user before assistant. */
  abstract messagesBetween(conversationId: string, fromTurnIndex: number, beforeTurnIndex: number): Promise<StoredMessage[]>;
  /** Stores both messages of a turn and bumps the conversation in one transaction; the turn index is assigned here. */
  abstract recordTurn(turn: NewTurn): Promise<{ turnIndex: number }>;
  abstract findReferences(conversationId: string, turnIndex: number): Promise<Reference[] | null>;
  /** Idempotent by `messageId`; throws UnknownConversationError when the conversation does not exist. */
  abstract applySummary(update: SummaryUpdate): Promise<SummaryOutcome>;
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

/** TypeORM's raw query returns [rows, count] for UPDATE; the structured result is uniform. */
async function rows<T>(runner: QueryRunner, sql: string, params: unknown[]): Promise<{ records: T[]; affected: number }> {
  const result = await runner.query(sql, params, true);
  return { records: result.records as T[], affected: result.affected ?? 0 };
}

@Injectable()
export class PgConversationsRepository extends ConversationsRepository {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {
    super();
  }

  async findOrCreate(id: string | undefined, tenant: string): Promise<Conversation> {
    // The no-op update returns the existing row, but only the owner's: another tenant's id returns nothing.
    const rows = await this.ds.query<ConversationRow[]>(
      `INSERT INTO gateway.conversations (id, tenant) VALUES (coalesce($1::uuid, gen_random_uuid()), $2)
       ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id WHERE conversations.tenant = EXCLUDED.tenant
       RETURNING ${CONVERSATION_COLUMNS}`,
      [id ?? null, tenant],
    );
    if (!rows[0]) throw new NotFound(`conversation ${id ?? ''} not found`);
    return toConversation(rows[0]);
  }

  async find(id: string, tenant: string): Promise<Conversation | null> {
    const rows = await this.ds.query<ConversationRow[]>(`SELECT ${CONVERSATION_COLUMNS} FROM gateway.conversations WHERE id = $1 AND tenant = $2`, [
      id,
      tenant,
    ]);
    return rows[0] ? toConversation(rows[0]) : null;
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

  recordTurn(turn: NewTurn): Promise<{ turnIndex: number }> {
    return this.ds.transaction(async (manager) => {
      const runner = manager.queryRunner;
      if (!runner) throw new Error('transaction without a query runner');
      // The index comes from the counter row, locked by this UPDATE: concurrent turns of one conversation serialize here.
      const bumped = await rows<{ turn_index: number }>(
        runner,
        `UPDATE gateway.conversations SET turn_count = turn_count + 1, updated_at = now()
         WHERE id = $1 RETURNING turn_count - 1 AS turn_index`,
        [turn.conversationId],
      );
      const turnIndex = bumped.records[0]?.turn_index;
      if (turnIndex === undefined) throw new UnknownConversationError(turn.conversationId);
      await runner.query(
        `INSERT INTO gateway.messages (conversation_id, turn_index, role, content, model, "references", usage) VALUES
         ($1, $2, 'user', $3, NULL, '[]'::jsonb, NULL),
         ($1, $2, 'assistant', $4, $5, $6::jsonb, $7::jsonb)`,
        [turn.conversationId, turnIndex, turn.question, turn.answer, turn.model, JSON.stringify(turn.references), JSON.stringify(turn.usage)],
      );
      return { turnIndex };
    });
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
