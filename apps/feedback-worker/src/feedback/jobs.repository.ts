import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { DATA_SOURCE } from '@ragmesh/persistence';
import type { JobStatus } from '../persistence/entities';

export interface JobRecord {
  id: string;
  memberId: string;
  callbackUrl: string;
  status: JobStatus;
  attempts: number;
  content: string | null;
  lastError: string | null;
}

/** A transition as stored: what `feedback.status.changed` announces. */
export interface StatusChange {
  jobId: string;
  status: JobStatus;
  attempts: number;
  lastError?: string;
  /** When the status was entered (the row's status_changed_at). */
  at: Date;
}

/** The transition of `jobId` stamped `at` (its status_changed_at). */
export type StatusMark = Pick<StatusChange, 'jobId' | 'at'>;

export type LockResult<T> = { acquired: true; value: T } | { acquired: false };

/** feedback.jobs and feedback.processed_messages, as the use-case sees them. */
export abstract class JobsRepository {
  /**
   * Null when this message was processed already or the job succeeded (whichever message asked
   * for it); otherwise creates the job when new, marks it running and counts the attempt.
   */
  abstract start(envelopeId: string, job: Pick<JobRecord, 'id' | 'memberId' | 'callbackUrl'>): Promise<{ created: boolean; change: StatusChange } | null>;
  /** In one transaction: the job succeeded with its content, and the envelope id is recorded. */
  abstract succeed(jobId: string, content: string, envelopeId: string): Promise<StatusChange>;
  abstract fail(jobId: string, status: Extract<JobStatus, 'failed' | 'dead'>, error: string): Promise<StatusChange>;
  /** Runs `work` while holding the job's lock; does not wait when another delivery holds it. */
  abstract withJobLock<T>(jobId: string, work: () => Promise<T>): Promise<LockResult<T>>;
  /** The broker confirmed the events of these transitions (a later transition of a job stays pending). */
  abstract markStatusPublished(marks: StatusMark[]): Promise<void>;
  /** Transitions older than `olderThanMs` whose event is not confirmed yet, oldest first. */
  abstract unpublishedStatuses(limit: number, olderThanMs: number): Promise<StatusChange[]>;
}

// Bounded so a huge upstream error message cannot bloat the row.
export const MAX_ERROR_LENGTH = 2_000;
const LOCK_NAMESPACE = 'feedback.job:';

interface ChangeRow {
  id: string;
  status: JobStatus;
  attempts: number;
  last_error: string | null;
  status_changed_at: Date;
}

const CHANGE_COLUMNS = 'id, status, attempts, last_error, status_changed_at';
/**
 * clock_timestamp(), not now(): transitions inside one transaction get their own instants. Cut to
 * milliseconds, so the stamp survives the round trip through a JS Date (markStatusPublished compares it).
 */
const STAMP = `date_trunc('milliseconds', clock_timestamp())`;

function toChange(row: ChangeRow | undefined): StatusChange {
  if (!row) throw new Error('feedback job row vanished during its transition');
  return { jobId: row.id, status: row.status, attempts: row.attempts, at: row.status_changed_at, ...(row.last_error ? { lastError: row.last_error } : {}) };
}

@Injectable()
export class TypeOrmJobsRepository extends JobsRepository {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {
    super();
  }

  async start(envelopeId: string, job: Pick<JobRecord, 'id' | 'memberId' | 'callbackUrl'>): Promise<{ created: boolean; change: StatusChange } | null> {
    // One round trip for the done check and the transition (the caller holds the job's lock, so
    // nothing changes between them); a job row is only `succeeded` once its callback was delivered.
    // xmax = 0 only on a freshly inserted row: tells a new job from a retried one.
    const rows: (ChangeRow & { created: boolean })[] = await this.ds.query(
      `INSERT INTO feedback.jobs AS j (id, member_id, callback_url, status, attempts, status_changed_at)
       SELECT $1::uuid, $2::text, $3::text, 'running', 1, ${STAMP}
       WHERE NOT EXISTS (SELECT 1 FROM feedback.processed_messages WHERE id = $4)
         AND NOT EXISTS (SELECT 1 FROM feedback.jobs WHERE id = $1::uuid AND status = 'succeeded')
       ON CONFLICT (id) DO UPDATE
         SET status = 'running', attempts = j.attempts + 1, member_id = EXCLUDED.member_id,
             callback_url = EXCLUDED.callback_url, status_changed_at = ${STAMP}, updated_at = now()
       RETURNING (xmax = 0) AS created, ${CHANGE_COLUMNS}`,
      [job.id, job.memberId, job.callbackUrl, envelopeId],
    );
    if (rows.length === 0) return null;
    return { created: rows[0].created === true, change: toChange(rows[0]) };
  }

  async succeed(jobId: string, content: string, envelopeId: string): Promise<StatusChange> {
    // One statement, so one commit: the success and the processed envelope id are stored together.
    // TypeORM answers an UPDATE with [rows, affected].
    const [rows]: [ChangeRow[], number] = await this.ds.query(
      `WITH processed AS (
         INSERT INTO feedback.processed_messages (id) VALUES ($3) ON CONFLICT (id) DO NOTHING
       )
       UPDATE feedback.jobs SET status = 'succeeded', content = $2, last_error = NULL, status_changed_at = ${STAMP}, updated_at = now()
       WHERE id = $1 RETURNING ${CHANGE_COLUMNS}`,
      [jobId, content, envelopeId],
    );
    return toChange(rows[0]);
  }

  async fail(jobId: string, status: 'failed' | 'dead', error: string): Promise<StatusChange> {
    const [rows]: [ChangeRow[], number] = await this.ds.query(
      `UPDATE feedback.jobs SET status = $2, last_error = $3, status_changed_at = ${STAMP}, updated_at = now()
       WHERE id = $1 RETURNING ${CHANGE_COLUMNS}`,
      [jobId, status, error.slice(0, MAX_ERROR_LENGTH)],
    );
    return toChange(rows[0]);
  }

  async markStatusPublished(marks: StatusMark[]): Promise<void> {
    if (marks.length === 0) return;
    await this.ds.query(
      `UPDATE feedback.jobs j SET status_published_at = m.at
       FROM unnest($1::uuid[], $2::timestamptz[]) AS m(id, at)
       WHERE j.id = m.id AND j.status_changed_at = m.at`,
      [marks.map((m) => m.jobId), marks.map((m) => m.at)],
    );
  }

  async unpublishedStatuses(limit: number, olderThanMs: number): Promise<StatusChange[]> {
    const rows: ChangeRow[] = await this.ds.query(
      `SELECT ${CHANGE_COLUMNS} FROM feedback.jobs
       WHERE status_published_at IS DISTINCT FROM status_changed_at
         AND status_changed_at < clock_timestamp() - make_interval(secs => $2::double precision / 1000)
       ORDER BY status_changed_at LIMIT $1`,
      [limit, olderThanMs],
    );
    return rows.map(toChange);
  }

  async withJobLock<T>(jobId: string, work: () => Promise<T>): Promise<LockResult<T>> {
    // A session lock on its own connection: a crashed worker's lock goes with its connection.
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    try {
      const key = LOCK_NAMESPACE + jobId;
      const rows: { locked: boolean }[] = await runner.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS locked`, [key]);
      if (rows[0]?.locked !== true) return { acquired: false };
      try {
        return { acquired: true, value: await work() };
      } finally {
        await runner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [key]);
      }
    } finally {
      await runner.release();
    }
  }
}
