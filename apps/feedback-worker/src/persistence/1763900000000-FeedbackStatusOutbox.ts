import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The job row is its own status outbox: every transition stamps status_changed_at in the same
 * statement, and status_published_at catches up once the broker confirmed the event for it.
 */
export class FeedbackStatusOutbox1763900000000 implements MigrationInterface {
  name = 'FeedbackStatusOutbox1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE feedback.jobs ADD COLUMN status_changed_at timestamptz NOT NULL DEFAULT now()`);
    await q.query(`ALTER TABLE feedback.jobs ADD COLUMN status_published_at timestamptz NULL`);
    // Rows from before this migration were announced best-effort already; do not replay them.
    await q.query(`UPDATE feedback.jobs SET status_changed_at = updated_at, status_published_at = updated_at`);
    await q.query(
      `CREATE INDEX jobs_status_unpublished_idx ON feedback.jobs (status_changed_at) WHERE status_published_at IS DISTINCT FROM status_changed_at`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS feedback.jobs_status_unpublished_idx`);
    await q.query(`ALTER TABLE feedback.jobs DROP COLUMN IF EXISTS status_published_at`);
    await q.query(`ALTER TABLE feedback.jobs DROP COLUMN IF EXISTS status_changed_at`);
  }
}
