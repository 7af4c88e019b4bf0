import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The model name is stored with every vector, and a second vector slot holds the next model's
 * while a model change re-embeds in the background. Rows from before were all made by the
 * local hashing embedder (its name is also in their metadata).
 */
export class EmbeddingModels1736000000000 implements MigrationInterface {
  name = 'EmbeddingModels1736000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE retrieval.chunks ADD COLUMN embedding_model text NOT NULL DEFAULT 'local-hashing-embedder'`);
    await queryRunner.query(`UPDATE retrieval.chunks SET embedding_model = metadata->>'embedder' WHERE metadata ? 'embedder'`);
    await queryRunner.query(`ALTER TABLE retrieval.chunks ALTER COLUMN embedding_model DROP DEFAULT`);
    await queryRunner.query(`ALTER TABLE retrieval.chunks ADD COLUMN next_embedding real[] NULL, ADD COLUMN next_embedding_model text NULL`);
    // The re-embedder's scan: chunks whose vector is not yet by the target model.
    await queryRunner.query(`CREATE INDEX chunks_embedding_model_idx ON retrieval.chunks (embedding_model)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX retrieval.chunks_embedding_model_idx`);
    await queryRunner.query(`ALTER TABLE retrieval.chunks DROP COLUMN next_embedding_model, DROP COLUMN next_embedding, DROP COLUMN embedding_model`);
  }
}
