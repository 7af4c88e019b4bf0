import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { DATA_SOURCE } from '@ragmesh/persistence';
import { JobEntity, type JobStatus } from '../persistence/entities';

export interface JobRecord {
  id: string;
  memberId: string;
  callbackUrl: string;
  status: JobStatus;
  attempts: number;
  content: string | null;
  lastError: string | null;
}

export type LockResult<T> = { acquired: true; value: T } | { acquired: false };

/** feedback.jobs and feedback.processed_messages, as the use-case sees them. */
export abstract class JobsRepository {
  abstract isProcessed(envelopeId: string): Promise<boolean>;
  abstract find(jobId: string): Promise<JobRecord | null>;
  /** Creates the job as queued when new, then marks it running and counts the attempt. */
  abstract start(job: Pick<JobRecord, 'id' | 'memberId' | 'callbackUrl'>): Promise<{ created: boolean; attempts: number }>;
  /** In one transaction: the job succeeded with its content, and the envelope id is recorded. */
  abstract succeed(jobId: string, content: string, envelopeId: string): Promise<void>;
  abstract fail(jobId: string, status: Extract<JobStatus, 'failed' | 'dead'>, error: string): Promise<void>;
  /** Runs `work` while holding the job's lock; does not wait when another delivery holds it. */
  abstract withJobLock<T>(jobId: string, work: () => Promise<T>): Promise<LockResult<T>>;
}

// Bounded so a huge upstream error message cannot bloat the row.
const MAX_ERROR_LENGTH = 2_000;
const LOCK_NAMESPACE = 'feedback.job:';

@Injectable()
export class TypeOrmJobsRepository extends JobsRepository {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {
    super();
  }

  async isProcessed(envelopeId: string): Promise<boolean> {
    const rows: unknown[] = await this.ds.query(`SELECT 1 FROM feedback.processed_messages WHERE id = $1`, [envelopeId]);
    return rows.length > 0;
  }

  async find(jobId: string): Promise<JobRecord | null> {
    const row = await this.ds.getRepository(JobEntity).findOneBy({ id: jobId });
    if (!row) return null;
    const { id, memberId, callbackUrl, status, attempts, content, lastError } = row;
    return { id, memberId, callbackUrl, status, attempts, content, lastError };
  }

  async start(job: Pick<JobRecord, 'id' | 'memberId' | 'callbackUrl'>): Promise<{ created: boolean; attempts: number }> {
    // xmax = 0 only on a freshly inserted row: tells a new job from a retried one in one statement.
    const rows: { created: boolean; attempts: number }[] = await this.ds.query(
      `INSERT INTO feedback.jobs AS j (id, member_id, callback_url, status, attempts)
       VALUES ($1, $2, $3, 'running', 1)
       ON CONFLICT (id) DO UPDATE
         SET status = 'running', attempts = j.attempts + 1, member_id = EXCLUDED.member_id,
             callback_url = EXCLUDED.callback_url, updated_at = now()
       RETURNING (xmax = 0) AS created, attempts`,
      [job.id, job.memberId, job.callbackUrl],
    );
    return { created: rows[0]?.created === true, attempts: rows[0]?.attempts ?? 1 };
  }

  async succeed(jobId: string, content: string, envelopeId: string): Promise<void> {
    await this.ds.transaction(async (m) => {
      await m.query(
        `UPDATE feedback.jobs SET status = 'succeeded', content = $2, last_error = NULL, updated_at = now() WHERE id = $1`,
        [jobId, content],
      );
      await m.query(`INSERT INTO feedback.processed_messages (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [envelopeId]);
    });
  }

  async fail(jobId: string, status: 'failed' | 'dead', error: string): Promise<void> {
    await this.ds.query(`UPDATE feedback.jobs SET status = $2, last_error = $3, updated_at = now() WHERE id = $1`, [
      jobId,
      status,
      error.slice(0, MAX_ERROR_LENGTH),
    ]);
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
