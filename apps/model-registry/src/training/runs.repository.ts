import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export const RUN_STATUSES = ['submitted', 'running', 'succeeded', 'failed', 'stopped'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const ACTIVE_RUN_STATUSES: readonly RunStatus[] = ['submitted', 'running'];

export interface TrainingRun {
  id: string;
  datasetVersion: number;
  baseModel: string;
  status: RunStatus;
  trigger: string;
  attempt: number;
  submissionId: string | null;
  lastError: string | null;
  metrics: Record<string, unknown> | null;
  adapterId: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

interface Row {
  id: string;
  dataset_version: number;
  base_model: string;
  status: RunStatus;
  trigger: string;
  attempt: number;
  submission_id: string | null;
  last_error: string | null;
  metrics: Record<string, unknown> | null;
  adapter_id: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const toRun = (r: Row): TrainingRun => ({
  id: r.id,
  datasetVersion: r.dataset_version,
  baseModel: r.base_model,
  status: r.status,
  trigger: r.trigger,
  attempt: r.attempt,
  submissionId: r.submission_id,
  lastError: r.last_error,
  metrics: r.metrics,
  adapterId: r.adapter_id,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

export type RunUpdate = Partial<Pick<TrainingRun, 'status' | 'attempt' | 'submissionId' | 'lastError' | 'metrics' | 'adapterId' | 'startedAt' | 'finishedAt'>>;

const COLUMNS: Record<keyof RunUpdate, string> = {
  status: 'status',
  attempt: 'attempt',
  submissionId: 'submission_id',
  lastError: 'last_error',
  metrics: 'metrics',
  adapterId: 'adapter_id',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
};

/** Training history: every run with its attempts, outcome and the adapter it produced. */
@Injectable()
export class RunsRepository {
  constructor(private readonly ds: DataSource) {}

  async create(manager: EntityManager, run: { datasetVersion: number; baseModel: string; trigger: string }): Promise<TrainingRun> {
    const rows = await manager.query<Row[]>(
      `INSERT INTO training_runs (dataset_version, base_model, status, trigger) VALUES ($1, $2, 'submitted', $3) RETURNING *`,
      [run.datasetVersion, run.baseModel, run.trigger],
    );
    return toRun(rows[0]);
  }

  async update(id: string, changes: RunUpdate, manager: EntityManager = this.ds.manager): Promise<TrainingRun> {
    const entries = Object.entries(changes).filter(([, v]) => v !== undefined) as [keyof RunUpdate, unknown][];
    const sets = entries.map(([key], i) => `${COLUMNS[key]} = $${i + 2}${key === 'metrics' ? '::jsonb' : ''}`);
    const values = entries.map(([key, v]) => (key === 'metrics' ? JSON.stringify(v) : v));
    // TypeORM's query() answers UPDATE … RETURNING with [rows, count]: update, then read.
    await manager.query(`UPDATE training_runs SET ${sets.join(', ')} WHERE id = $1`, [id, ...values]);
    const rows = await manager.query<Row[]>(`SELECT * FROM training_runs WHERE id = $1`, [id]);
    return toRun(rows[0]);
  }

  async find(id: string): Promise<TrainingRun | null> {
    const rows = await this.ds.query<Row[]>(`SELECT * FROM training_runs WHERE id = $1`, [id]);
    return rows[0] ? toRun(rows[0]) : null;
  }

  async active(): Promise<TrainingRun | null> {
    const rows = await this.ds.query<Row[]>(`SELECT * FROM training_runs WHERE status IN ('submitted', 'running') LIMIT 1`);
    return rows[0] ? toRun(rows[0]) : null;
  }

  async lastFailure(): Promise<Date | null> {
    const [row] = await this.ds.query<{ at: Date | null }[]>(`SELECT max(finished_at) AS at FROM training_runs WHERE status = 'failed'`);
    return row.at;
  }

  async list(limit: number, offset: number, status?: RunStatus): Promise<TrainingRun[]> {
    const rows = await this.ds.query<Row[]>(
      `SELECT * FROM training_runs WHERE ($3::text IS NULL OR status = $3) ORDER BY created_at DESC LIMIT $1 OFFSET $2`,
      [limit, offset, status ?? null],
    );
    return rows.map(toRun);
  }

  async countsByStatus(): Promise<Record<string, number>> {
    const rows = await this.ds.query<{ status: string; count: string }[]>(`SELECT status, count(*) AS count FROM training_runs GROUP BY status`);
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.count)]));
  }
}
