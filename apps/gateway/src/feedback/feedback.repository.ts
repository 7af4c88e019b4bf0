import { Inject, Injectable } from '@nestjs/common';
import type { FeedbackJobStatus, MessagePayload } from '@ragmesh/contracts';
import { DATA_SOURCE } from '@ragmesh/persistence';
import type { DataSource } from 'typeorm';
import { enqueueOutbox } from '../outbox/outbox.relay';
import { isNewerStatus } from './job-status';

export type FeedbackRequested = MessagePayload<'feedback.requested'>;
export type FeedbackStatusChanged = MessagePayload<'feedback.status.changed'>;

export interface NewFeedbackJob {
  jobId: string;
  /** The API key's tenant: the job and its Idempotency-Key belong to it. */
  tenant: string;
  memberId: string;
  /** Stored for inspection; never holds the callback auth header (that travels only in the message). */
  request: Record<string, unknown>;
  requestHash: string;
  idempotencyKey?: string;
  message: { id: string; payload: FeedbackRequested; correlationId?: string };
}

export type CreateResult = { created: true; jobId: string } | { created: false; existing: { jobId: string; requestHash: string } };

export interface FeedbackJobView {
  jobId: string;
  memberId: string;
  status: FeedbackJobStatus;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  statusChangedAt: Date | null;
}

export type StatusOutcome = 'applied' | 'duplicate' | 'stale' | 'unknown-job';

export abstract class FeedbackRepository {
  /** In one transaction: the job row and its `feedback.requested` outbox row, unless the idempotency key already exists. */
  abstract create(job: NewFeedbackJob): Promise<CreateResult>;
  /** Null for another tenant's job too: its existence is not the caller's to know. */
  abstract find(jobId: string, tenant: string): Promise<FeedbackJobView | null>;
  /** Idempotent by envelope id (recorded in the same transaction as the change). */
  abstract applyStatus(envelopeId: string, event: FeedbackStatusChanged): Promise<StatusOutcome>;
}

interface JobRow {
  id: string;
  member_id: string;
  status: FeedbackJobStatus;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  status_changed_at: Date | null;
}

@Injectable()
export class PgFeedbackRepository extends FeedbackRepository {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {
    super();
  }

  create(job: NewFeedbackJob): Promise<CreateResult> {
    return this.ds.transaction(async (m) => {
      // ON CONFLICT waits for a concurrent insert of the same key to commit, so exactly one request creates the job.
      const inserted: { id: string }[] = await m.query(
        `INSERT INTO gateway.feedback_jobs (id, member_id, request, request_hash, idempotency_key, tenant)
         VALUES ($1, $2, $3::jsonb, $4, $5, $6)
         ON CONFLICT (tenant, idempotency_key) DO NOTHING RETURNING id`,
        [job.jobId, job.memberId, JSON.stringify(job.request), job.requestHash, job.idempotencyKey ?? null, job.tenant],
      );
      if (inserted.length === 0) {
        const [existing]: { id: string; request_hash: string }[] = await m.query(
          `SELECT id, request_hash FROM gateway.feedback_jobs WHERE tenant = $1 AND idempotency_key = $2`,
          [job.tenant, job.idempotencyKey],
        );
        return { created: false, existing: { jobId: existing.id, requestHash: existing.request_hash } };
      }
      await enqueueOutbox(m, { id: job.message.id, type: 'feedback.requested', payload: job.message.payload, correlationId: job.message.correlationId });
      return { created: true, jobId: job.jobId };
    });
  }

  async find(jobId: string, tenant: string): Promise<FeedbackJobView | null> {
    const rows: JobRow[] = await this.ds.query(
      `SELECT id, member_id, status, attempts, last_error, created_at, updated_at, status_changed_at FROM gateway.feedback_jobs WHERE id = $1 AND tenant = $2`,
      [jobId, tenant],
    );
    return rows[0] ? toView(rows[0]) : null;
  }

  applyStatus(envelopeId: string, event: FeedbackStatusChanged): Promise<StatusOutcome> {
    return this.ds.transaction(async (m): Promise<StatusOutcome> => {
      const fresh: unknown[] = await m.query(`INSERT INTO gateway.processed_messages (id) VALUES ($1) ON CONFLICT (id) DO NOTHING RETURNING id`, [
        envelopeId,
      ]);
      if (fresh.length === 0) return 'duplicate';
      const [current]: Pick<JobRow, 'status' | 'status_changed_at'>[] = await m.query(
        `SELECT status, status_changed_at FROM gateway.feedback_jobs WHERE id = $1 FOR UPDATE`,
        [event.jobId],
      );
      if (!current) return 'unknown-job';
      const at = new Date(event.at);
      if (!isNewerStatus({ status: current.status, at: current.status_changed_at }, { status: event.status, at })) return 'stale';
      await m.query(
        `UPDATE gateway.feedback_jobs SET status = $2, attempts = $3, last_error = $4, status_changed_at = $5, updated_at = now() WHERE id = $1`,
        [event.jobId, event.status, event.attempts, event.lastError ?? null, at],
      );
      return 'applied';
    });
  }
}

const toView = (r: JobRow): FeedbackJobView => ({
  jobId: r.id,
  memberId: r.member_id,
  status: r.status,
  attempts: r.attempts,
  lastError: r.last_error,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  statusChangedAt: r.status_changed_at,
});
