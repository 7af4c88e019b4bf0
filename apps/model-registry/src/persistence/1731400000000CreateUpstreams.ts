import { MigrationInterface, QueryRunner } from 'typeorm';

// Unqualified names: the data source's search_path puts them in the service's schema.
export class CreateUpstreams1731400000000 implements MigrationInterface {
  name = 'CreateUpstreams1731400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE upstreams (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        base_url text NOT NULL,
        kind text NOT NULL,
        models text[] NOT NULL DEFAULT '{}',
        status text NOT NULL DEFAULT 'unknown',
        last_error text,
        checked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT upstreams_name_key UNIQUE (name),
        CONSTRAINT upstreams_kind_check CHECK (kind IN ('local', 'vllm', 'ray-serve', 'openai-compatible')),
        CONSTRAINT upstreams_status_check CHECK (status IN ('unknown', 'up', 'down'))
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE upstreams');
  }
}
