import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export type ExampleState = 'pending' | 'in_run' | 'trained';

export interface NewExample {
  sourceMessageId: string;
  conversationId: string;
  turnIndex: number;
  question: string;
  answer: string;
  score: number;
  comment: string | null;
  model: string;
  contentHash: string;
}

export interface DatasetExample extends NewExample {
  id: string;
  state: ExampleState;
  datasetVersion: number | null;
  createdAt: Date;
}

export type InsertOutcome = 'inserted' | 'duplicate_message' | 'duplicate_content';

interface Row {
  id: string;
  source_message_id: string;
  conversation_id: string;
  turn_index: number;
  question: string;
  answer: string;
  score: number;
  comment: string | null;
  model: string;
  content_hash: string;
  state: ExampleState;
  dataset_version: number | null;
  created_at: Date;
}

const toExample = (r: Row): DatasetExample => ({
  id: r.id,
  sourceMessageId: r.source_message_id,
  conversationId: r.conversation_id,
  turnIndex: r.turn_index,
  question: r.question,
  answer: r.answer,
  score: r.score,
  comment: r.comment,
  model: r.model,
  contentHash: r.content_hash,
  state: r.state,
  datasetVersion: r.dataset_version,
  createdAt: r.created_at,
});

export interface ExampleQuery {
  state?: ExampleState;
  version?: number;
  limit: number;
  offset: number;
}

/** Dataset examples and their immutable versions. */
@Injectable()
export class DatasetRepository {
  constructor(private readonly ds: DataSource) {}

  /** Idempotent by the rating message and deduplicated by content, in one statement. */
  async insert(e: NewExample): Promise<InsertOutcome> {
    const rows = await this.ds.query<{ id: string }[]>(
      `INSERT INTO dataset_examples (source_message_id, conversation_id, turn_index, question, answer, score, comment, model, content_hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING id`,
      [e.sourceMessageId, e.conversationId, e.turnIndex, e.question, e.answer, e.score, e.comment, e.model, e.contentHash],
    );
    if (rows.length > 0) return 'inserted';
    const seen = await this.ds.query<unknown[]>(`SELECT 1 FROM dataset_examples WHERE source_message_id = $1`, [e.sourceMessageId]);
    return seen.length > 0 ? 'duplicate_message' : 'duplicate_content';
  }

  async countPending(): Promise<{ count: number; newest: Date | null }> {
    const [row] = await this.ds.query<{ count: string; newest: Date | null }[]>(
      `SELECT count(*) AS count, max(created_at) AS newest FROM dataset_examples WHERE state = 'pending'`,
    );
    return { count: Number(row.count), newest: row.newest };
  }

  async counts(): Promise<Record<ExampleState, number>> {
    const rows = await this.ds.query<{ state: ExampleState; count: string }[]>(`SELECT state, count(*) AS count FROM dataset_examples GROUP BY state`);
    const out: Record<ExampleState, number> = { pending: 0, in_run: 0, trained: 0 };
    for (const r of rows) out[r.state] = Number(r.count);
    return out;
  }

  /** Every pending example (not only N: the ones that waited during a run coalesce) becomes the next version. */
  async snapshotPending(manager: EntityManager): Promise<{ version: number; exampleCount: number } | null> {
    const [{ next }] = await manager.query<{ next: number }[]>(`SELECT coalesce(max(version), 0) + 1 AS next FROM dataset_versions`);
    const ids = await manager.query<{ id: string }[]>(`SELECT id FROM dataset_examples WHERE state = 'pending' ORDER BY created_at FOR UPDATE`);
    if (ids.length === 0) return null;
    await manager.query(`INSERT INTO dataset_versions (version, example_count) VALUES ($1, $2)`, [next, ids.length]);
    await manager.query(
      `INSERT INTO dataset_version_examples (version, example_id) SELECT $1, unnest($2::uuid[])`,
      [next, ids.map((r) => r.id)],
    );
    await manager.query(`UPDATE dataset_examples SET state = 'in_run', dataset_version = $1 WHERE id = ANY($2::uuid[])`, [next, ids.map((r) => r.id)]);
    return { version: next, exampleCount: ids.length };
  }

  /** After a run ends: trained on success; back to pending otherwise, so the next run includes them. */
  async settleVersion(version: number, trained: boolean, manager: EntityManager = this.ds.manager): Promise<void> {
    await manager.query(
      trained
        ? `UPDATE dataset_examples SET state = 'trained' WHERE dataset_version = $1 AND state = 'in_run'`
        : `UPDATE dataset_examples SET state = 'pending' WHERE dataset_version = $1 AND state = 'in_run'`,
      [version],
    );
  }

  async versionExamples(version: number): Promise<DatasetExample[] | null> {
    const exists = await this.ds.query<unknown[]>(`SELECT 1 FROM dataset_versions WHERE version = $1`, [version]);
    if (exists.length === 0) return null;
    const rows = await this.ds.query<Row[]>(
      `SELECT e.* FROM dataset_examples e JOIN dataset_version_examples v ON v.example_id = e.id WHERE v.version = $1 ORDER BY e.created_at`,
      [version],
    );
    return rows.map(toExample);
  }

  async list(q: ExampleQuery): Promise<DatasetExample[]> {
    const rows = await this.ds.query<Row[]>(
      `SELECT * FROM dataset_examples WHERE ($1::text IS NULL OR state = $1) AND ($2::int IS NULL OR dataset_version = $2)
       ORDER BY created_at, id LIMIT $3 OFFSET $4`,
      [q.state ?? null, q.version ?? null, q.limit, q.offset],
    );
    return rows.map(toExample);
  }

  /** Moves the row into deleted_examples (the backup) in one transaction; null when absent. */
  async delete(id: string): Promise<DatasetExample | null> {
    return this.ds.transaction(async (m) => {
      const rows = await m.query<Row[]>(`SELECT * FROM dataset_examples WHERE id = $1 FOR UPDATE`, [id]);
      if (rows.length === 0) return null;
      await m.query(`DELETE FROM dataset_examples WHERE id = $1`, [id]);
      await m.query(`INSERT INTO deleted_examples (id, row) VALUES ($1, $2::jsonb)`, [id, JSON.stringify(rows[0])]);
      return toExample(rows[0]);
    });
  }

  async deletedCount(): Promise<number> {
    const [row] = await this.ds.query<{ count: string }[]>(`SELECT count(*) AS count FROM deleted_examples`);
    return Number(row.count);
  }
}
