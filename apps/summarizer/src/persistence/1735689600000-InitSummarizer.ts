import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitSummarizer1735689600000 implements MigrationInterface {
  name = 'InitSummarizer1735689600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SCHEMA IF NOT EXISTS summarizer`);
    await q.query(`
      CREATE TABLE summarizer.summaries (
        conversation_id uuid PRIMARY KEY,
        summary text NOT NULL,
        up_to_turn_index integer NOT NULL CHECK (up_to_turn_index >= 0),
        model text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE summarizer.processed_messages (
        id text PRIMARY KEY,
        processed_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS summarizer.processed_messages`);
    await q.query(`DROP TABLE IF EXISTS summarizer.summaries`);
  }
}
