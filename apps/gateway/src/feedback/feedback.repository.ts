import { Inject, Injectable } from '@nestjs/common';
import type { FeedbackJobStatus, MessagePayload } from '@ragmesh/contracts';
import { DATA_SOURCE } from '@ragmesh/persistence';
import type { DataSource } from 'typeorm';
import { OUTBOX_INSERT } from '../outbox/outbox.relay';
import { newerStatusSql } from './job-status';

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

  async create(job: NewFeedbackJob): Promise<CreateResult> {
    // One statement, so one round trip and one commit: the job row and its outbox row exist together or not at all.
    // ON CONFLICT waits for a concurrent insert of the same key to commit, so exactly one request creates the job.
    const inserted: { id: string }[] = await this.ds.query(
      `WITH job AS (
         INSERT INTO gateway.feedback_jobs (id, member_id, request, request_hash, idempotency_key, tenant)
         VALUES ($1, $2, $3::jsonb, $4, $5, $6)
         ON CONFLICT (tenant, idempotency_key) DO NOTHING RETURNING id
       )
       ${OUTBOX_INSERT} SELECT $7, 'feedback.requested', $8::jsonb, $9 FROM job RETURNING id`,
      [
        job.jobId,
        job.memberId,
        JSON.stringify(job.request),
        job.requestHash,
        job.idempotencyKey ?? null,
        job.tenant,
        job.message.id,
        JSON.stringify(job.message.payload),
        job.message.correlationId ?? null,
      ],
    );
    if (inserted.length > 0) return { created: true, jobId: job.jobId };
    const [existing]: { id: string; request_hash: string }[] = await this.ds.query(
      `SELECT id, request_hash FROM gateway.feedback_jobs WHERE tenant = $1 AND idempotency_key = $2`,
      [job.tenant, job.idempotencyKey],
    );
    return { created: false, existing: { jobId: existing.id, requestHash: existing.request_hash } };
  }

  async find(jobId: string, tenant: string): Promise<FeedbackJobView | null> {
    const rows: JobRow[] = await this.ds.query(
      `SELECT id, member_id, status, attempts, last_error, created_at, updated_at, status_changed_at FROM gateway.feedback_jobs WHERE id = $1 AND tenant = $2`,
      [jobId, tenant],
    );
    return rows[0] ? toView(rows[0]) : null;
  }

  async applyStatus(envelopeId: string, event: FeedbackStatusChanged): Promise<StatusOutcome> {
    // One statement (one commit per event): record the envelope id; only a first delivery may
    // update the row, and only with a newer status. Outcomes as before: duplicate, unknown-job, stale, applied.
    const [row]: { fresh: boolean; known: boolean; applied: boolean }[] = await this.ds.query(
      `WITH fresh AS (
         INSERT INTO gateway.processed_messages (id) VALUES ($1) ON CONFLICT (id) DO NOTHING RETURNING id
       ), applied AS (
         UPDATE gateway.feedback_jobs SET status = $3, attempts = $4, last_error = $5, status_changed_at = $6, updated_at = now()
         WHERE id = $2 AND EXISTS (SELECT 1 FROM fresh) AND ${newerStatusSql('$3::text', '$6::timestamptz')}
         RETURNING id
       )
       SELECT EXISTS (SELECT 1 FROM fresh) AS fresh,
              EXISTS (SELECT 1 FROM gateway.feedback_jobs WHERE id = $2) AS known,
              EXISTS (SELECT 1 FROM applied) AS applied`,
      [envelopeId, event.jobId, event.status, event.attempts, event.lastError ?? null, new Date(event.at)],
    );
    if (!row.fresh) return 'duplicate';
    if (!row.known) return 'unknown-job';
    return row.applied ? 'applied' : 'stale';
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
