import { Inject, Injectable, Logger } from '@nestjs/common';
import type { FeedbackJobStatus, MessagePayload } from '@ragmesh/contracts';
import { DATA_SOURCE, MicroBatcher } from '@ragmesh/persistence';
import type { DataSource } from 'typeorm';
import { OUTBOX_INSERT } from '../outbox/outbox.relay';
import { newerStatusSql, rankSql } from './job-status';

/** Jobs written by one statement at most: bounds its size (each row carries the request twice, as job and as message). */
export const FEEDBACK_CREATE_BATCH = 100;

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
  /**
   * In one transaction: the job row and its `feedback.requested` outbox row, unless the idempotency
   * key already exists. Resolves only after the commit.
   */
  abstract create(job: NewFeedbackJob): Promise<CreateResult>;
  /** Null for another tenant's job too: its existence is not the caller's to know. */
  abstract find(jobId: string, tenant: string): Promise<FeedbackJobView | null>;
  /** Idempotent by envelope id (recorded in the same transaction as the change). */
  abstract applyStatus(envelopeId: string, event: FeedbackStatusChanged): Promise<StatusOutcome>;
  /**
   * applyStatus for several events in one transaction (all or none), outcomes in input order; of
   * several fresh events of one job only the newest can be applied, the others are `stale`.
   */
  abstract applyStatuses(events: { envelopeId: string; event: FeedbackStatusChanged }[]): Promise<StatusOutcome[]>;
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
  private readonly logger = new Logger(PgFeedbackRepository.name);

  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {
    super();
  }

  /** Concurrent creates of one event-loop turn share one statement (group commit); a lone one runs as before. */
  private readonly inserts = new MicroBatcher<NewFeedbackJob, boolean>({
    maxBatch: FEEDBACK_CREATE_BATCH,
    runBatch: (jobs) => this.insertMany(jobs),
    runOne: (job) => this.insertOne(job),
    onBatchError: (err, size) => this.logger.warn(`feedback job batch of ${size} failed, retried one by one: ${err instanceof Error ? err.message : String(err)}`),
  });

  async create(job: NewFeedbackJob): Promise<CreateResult> {
    if (await this.inserts.submit(job)) return { created: true, jobId: job.jobId };
    // Not inserted: the key exists, committed (ON CONFLICT waited for a concurrent insert of it), possibly by this very batch.
    const [existing]: { id: string; request_hash: string }[] = await this.ds.query(
      `SELECT id, request_hash FROM gateway.feedback_jobs WHERE tenant = $1 AND idempotency_key = $2`,
      [job.tenant, job.idempotencyKey],
    );
    return { created: false, existing: { jobId: existing.id, requestHash: existing.request_hash } };
  }

  /** True when the job (and its outbox row) was inserted, false when its idempotency key already existed. */
  private async insertOne(job: NewFeedbackJob): Promise<boolean> {
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
    return inserted.length > 0;
  }

  /**
   * insertOne for several jobs in one statement: all rows or none (so a failed batch can be retried
   * one by one), an outbox row for each job inserted. Two jobs of the batch with the same key: the
   * first is inserted, the second finds it (DO NOTHING skips a row that conflicts within the statement too).
   */
  private async insertMany(jobs: readonly NewFeedbackJob[]): Promise<boolean[]> {
    // The batch travels as one JSON document: a jsonb[] parameter would be escaped element by element as an array literal.
    const input = jobs.map((j) => ({
      job_id: j.jobId,
      member_id: j.memberId,
      request: j.request,
      request_hash: j.requestHash,
      idempotency_key: j.idempotencyKey ?? null,
      tenant: j.tenant,
      message_id: j.message.id,
      payload: j.message.payload,
      correlation_id: j.message.correlationId ?? null,
    }));
    const rows: { id: string }[] = await this.ds.query(
      `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb)
           AS t(job_id uuid, member_id text, request jsonb, request_hash text, idempotency_key text, tenant text, message_id uuid, payload jsonb, correlation_id text)
       ), job AS (
         INSERT INTO gateway.feedback_jobs (id, member_id, request, request_hash, idempotency_key, tenant)
         SELECT job_id, member_id, request, request_hash, idempotency_key, tenant FROM input
         ON CONFLICT (tenant, idempotency_key) DO NOTHING RETURNING id
       ), outbox AS (
         ${OUTBOX_INSERT} SELECT i.message_id, 'feedback.requested', i.payload, i.correlation_id FROM input i JOIN job j ON j.id = i.job_id
       )
       SELECT id FROM job`,
      [JSON.stringify(input)],
    );
    const inserted = new Set(rows.map((r) => r.id));
    return jobs.map((j) => inserted.has(j.jobId));
  }

  async find(jobId: string, tenant: string): Promise<FeedbackJobView | null> {
    const rows: JobRow[] = await this.ds.query(
      `SELECT id, member_id, status, attempts, last_error, created_at, updated_at, status_changed_at FROM gateway.feedback_jobs WHERE id = $1 AND tenant = $2`,
      [jobId, tenant],
    );
    return rows[0] ? toView(rows[0]) : null;
  }

  async applyStatus(envelopeId: string, event: FeedbackStatusChanged): Promise<StatusOutcome> {
    const [outcome] = await this.applyStatuses([{ envelopeId, event }]);
    return outcome;
  }

  async applyStatuses(events: { envelopeId: string; event: FeedbackStatusChanged }[]): Promise<StatusOutcome[]> {
    if (events.length === 0) return [];
    // One statement (one commit per batch): record the envelope ids; only first deliveries may
    // update a row, only the newest of them per job (UPDATE … FROM applies one match per row), and
    // only with a newer status than stored. Outcomes: duplicate, unknown-job, stale, applied.
    const rows: { envelope_id: string; fresh: boolean; known: boolean; applied: boolean }[] = await this.ds.query(
      `WITH incoming AS (
         SELECT DISTINCT ON (envelope_id) *
         FROM unnest($1::text[], $2::uuid[], $3::text[], $4::int[], $5::text[], $6::timestamptz[]) AS e(envelope_id, job_id, status, attempts, last_error, at)
       ), fresh AS (
         INSERT INTO gateway.processed_messages (id) SELECT envelope_id FROM incoming ON CONFLICT (id) DO NOTHING RETURNING id
       ), newest AS (
         SELECT DISTINCT ON (i.job_id) i.* FROM incoming i JOIN fresh f ON f.id = i.envelope_id
         ORDER BY i.job_id, i.at DESC, ${rankSql('i.status')} DESC
       ), applied AS (
         UPDATE gateway.feedback_jobs j SET status = n.status, attempts = n.attempts, last_error = n.last_error, status_changed_at = n.at, updated_at = now()
         FROM newest n WHERE j.id = n.job_id AND ${newerStatusSql('n.status', 'n.at', 'j.')}
         RETURNING n.envelope_id
       )
       SELECT i.envelope_id,
              EXISTS (SELECT 1 FROM fresh f WHERE f.id = i.envelope_id) AS fresh,
              EXISTS (SELECT 1 FROM gateway.feedback_jobs j WHERE j.id = i.job_id) AS known,
              EXISTS (SELECT 1 FROM applied a WHERE a.envelope_id = i.envelope_id) AS applied
       FROM incoming i`,
      [
        events.map((e) => e.envelopeId),
        events.map((e) => e.event.jobId),
        events.map((e) => e.event.status),
        events.map((e) => e.event.attempts),
        events.map((e) => e.event.lastError ?? null),
        events.map((e) => new Date(e.event.at)),
      ],
    );
    const byId = new Map(rows.map((r) => [r.envelope_id, r]));
    return events.map(({ envelopeId }): StatusOutcome => {
      const row = byId.get(envelopeId);
      if (!row?.fresh) return 'duplicate';
      if (!row.known) return 'unknown-job';
      return row.applied ? 'applied' : 'stale';
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
