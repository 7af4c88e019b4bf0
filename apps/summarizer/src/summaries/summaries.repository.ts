import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { DATA_SOURCE } from '@ragmesh/persistence';
import { ProcessedMessageEntity, SummaryEntity } from '../persistence/entities';

export interface StoredSummary {
  conversationId: string;
  summary: string;
  upToTurnIndex: number;
  model: string;
}

export interface ProcessedMessage {
  id: string;
  publishedAt: Date | null;
}

/**
 * - saved: the summary replaced the previous one and the envelope id is recorded (event not yet published);
 * - duplicate: the envelope id was already recorded (a concurrent delivery won), nothing changed;
 * - stale: a later turn was summarized meanwhile; the id is recorded, the newer summary kept.
 */
export type SaveResult = 'saved' | 'duplicate' | 'stale';

/** summarizer.summaries and summarizer.processed_messages, as the use-case sees them. */
export abstract class SummariesRepository {
  abstract findSummary(conversationId: string): Promise<StoredSummary | null>;
  abstract findProcessed(envelopeId: string): Promise<ProcessedMessage | null>;
  /** In one transaction: record the envelope id and upsert the summary (only forward in turn order). */
  abstract saveSummary(summary: StoredSummary, envelopeId: string): Promise<SaveResult>;
  abstract markPublished(envelopeId: string): Promise<void>;
}

@Injectable()
export class TypeOrmSummariesRepository extends SummariesRepository {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {
    super();
  }

  async findSummary(conversationId: string): Promise<StoredSummary | null> {
    const row = await this.ds.getRepository(SummaryEntity).findOneBy({ conversationId });
    return row ? { conversationId: row.conversationId, summary: row.summary, upToTurnIndex: row.upToTurnIndex, model: row.model } : null;
  }

  async findProcessed(envelopeId: string): Promise<ProcessedMessage | null> {
    const row = await this.ds.getRepository(ProcessedMessageEntity).findOneBy({ id: envelopeId });
    return row ? { id: row.id, publishedAt: row.publishedAt } : null;
  }

  saveSummary(summary: StoredSummary, envelopeId: string): Promise<SaveResult> {
    return this.ds.transaction(async (m): Promise<SaveResult> => {
      // A concurrent delivery of the same envelope blocks here until the other commits, then inserts nothing.
      const recorded: unknown[] = await m.query(
        `INSERT INTO summarizer.processed_messages (id) VALUES ($1) ON CONFLICT (id) DO NOTHING RETURNING id`,
        [envelopeId],
      );
      if (recorded.length === 0) return 'duplicate';
      const upserted: unknown[] = await m.query(
        `INSERT INTO summarizer.summaries AS s (conversation_id, summary, up_to_turn_index, model, updated_at)
         VALUES ($1, $2, $3, $4, now())
         ON CONFLICT (conversation_id) DO UPDATE
           SET summary = EXCLUDED.summary, up_to_turn_index = EXCLUDED.up_to_turn_index, model = EXCLUDED.model, updated_at = now()
           WHERE s.up_to_turn_index < EXCLUDED.up_to_turn_index
         RETURNING conversation_id`,
        [summary.conversationId, summary.summary, summary.upToTurnIndex, summary.model],
      );
      if (upserted.length > 0) return 'saved';
      // Nothing to announce for a summary that was not stored.
      await m.query(`UPDATE summarizer.processed_messages SET published_at = now() WHERE id = $1`, [envelopeId]);
      return 'stale';
    });
  }

  async markPublished(envelopeId: string): Promise<void> {
    await this.ds.query(`UPDATE summarizer.processed_messages SET published_at = now() WHERE id = $1`, [envelopeId]);
  }
}
