import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitGateway1735689600000 implements MigrationInterface {
  name = 'InitGateway1735689600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SCHEMA IF NOT EXISTS gateway`);
    await q.query(`
      CREATE TABLE gateway.conversations (
        id uuid PRIMARY KEY,
        summary text NULL,
        summary_turn_index integer NULL,
        turn_count integer NOT NULL DEFAULT 0 CHECK (turn_count >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE gateway.messages (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        conversation_id uuid NOT NULL REFERENCES gateway.conversations(id) ON DELETE CASCADE,
        turn_index integer NOT NULL CHECK (turn_index >= 0),
        role text NOT NULL CHECK (role IN ('user', 'assistant')),
        content text NOT NULL,
        model text NULL,
        "references" jsonb NOT NULL DEFAULT '[]'::jsonb,
        usage jsonb NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_messages_turn UNIQUE (conversation_id, turn_index, role)
      )`);
    await q.query(`
      CREATE TABLE gateway.processed_messages (
        id text PRIMARY KEY,
        processed_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS gateway.processed_messages`);
    await q.query(`DROP TABLE IF EXISTS gateway.messages`);
    await q.query(`DROP TABLE IF EXISTS gateway.conversations`);
  }
}
