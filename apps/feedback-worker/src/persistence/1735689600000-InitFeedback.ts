import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitFeedback1735689600000 implements MigrationInterface {
  name = 'InitFeedback1735689600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SCHEMA IF NOT EXISTS feedback`);
    await q.query(`
      CREATE TABLE feedback.jobs (
        id uuid PRIMARY KEY,
        member_id text NOT NULL,
        callback_url text NOT NULL,
        status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead')),
        attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        content text NULL,
        last_error text NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX jobs_status_idx ON feedback.jobs (status)`);
    await q.query(`
      CREATE TABLE feedback.processed_messages (
        id text PRIMARY KEY,
        processed_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS feedback.processed_messages`);
    await q.query(`DROP TABLE IF EXISTS feedback.jobs`);
  }
}
