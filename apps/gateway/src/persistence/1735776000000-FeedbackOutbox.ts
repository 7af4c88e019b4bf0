import type { MigrationInterface, QueryRunner } from 'typeorm';

export class FeedbackOutbox1735776000000 implements MigrationInterface {
  name = 'FeedbackOutbox1735776000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE gateway.feedback_jobs (
        id uuid PRIMARY KEY,
        member_id text NOT NULL,
        status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead')),
        attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        last_error text NULL,
        request jsonb NOT NULL,
        request_hash text NOT NULL,
        idempotency_key text NULL UNIQUE,
        status_changed_at timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE gateway.outbox (
        id uuid PRIMARY KEY,
        type text NOT NULL,
        payload jsonb NOT NULL,
        correlation_id text NULL,
        attempts integer NOT NULL DEFAULT 0,
        last_error text NULL,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz NULL
      )`);
    // The relay only ever reads unpublished rows; published ones stay for audit until pruned.
    await q.query(`CREATE INDEX outbox_pending_idx ON gateway.outbox (next_attempt_at) WHERE published_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS gateway.outbox`);
    await q.query(`DROP TABLE IF EXISTS gateway.feedback_jobs`);
  }
}
