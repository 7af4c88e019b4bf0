import { MigrationInterface, QueryRunner } from 'typeorm';

// Qualified names: TypeORM does not set search_path to the data source's schema.
export class CreateRetrievalTables1735000000000 implements MigrationInterface {
  name = 'CreateRetrievalTables1735000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE retrieval.documents (
        id text PRIMARY KEY,
        title text NOT NULL,
        format text NOT NULL CHECK (format IN ('markdown', 'text')),
        content text NOT NULL,
        collection text NOT NULL DEFAULT '',
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        published_at timestamptz NULL,
        content_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX documents_collection_idx ON retrieval.documents (collection)`);
    await queryRunner.query(`
      CREATE TABLE retrieval.chunks (
        id text PRIMARY KEY,
        document_id text NOT NULL REFERENCES retrieval.documents (id) ON DELETE CASCADE,
        chunk_index int NOT NULL,
        text text NOT NULL,
        heading text NULL,
        token_count int NOT NULL,
        embedding real[] NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        CONSTRAINT chunks_document_id_chunk_index_key UNIQUE (document_id, chunk_index)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE retrieval.chunks`);
    await queryRunner.query(`DROP TABLE retrieval.documents`);
  }
}
