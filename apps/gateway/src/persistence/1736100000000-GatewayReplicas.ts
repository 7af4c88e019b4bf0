import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The directory of running gateway replicas, so a stream resume that reaches the wrong replica
 * can be forwarded to the one holding the stream (chat/replica-directory.repository.ts). Each
 * replica upserts its row at start and on every heartbeat and marks it stopped on shutdown;
 * rows not seen for a day are pruned.
 */
export class GatewayReplicas1736100000000 implements MigrationInterface {
  name = 'GatewayReplicas1736100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE gateway.replicas (
        id text PRIMARY KEY,
        internal_url text NOT NULL,
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        stopped_at timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS gateway.replicas`);
  }
}
