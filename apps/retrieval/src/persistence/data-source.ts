import type { AppConfig } from '../config';
import { ChunkEntity } from './chunk.entity';
import { DocumentEntity } from './document.entity';
import { CreateRetrievalTables1735000000000 } from './1735000000000-CreateRetrievalTables';
import { EmbeddingModels1736000000000 } from './1736000000000-EmbeddingModels';

export const RETRIEVAL_SCHEMA = 'retrieval';

export function dataSourceOptions(config: Pick<AppConfig, 'DATABASE_URL'>) {
  return {
    url: config.DATABASE_URL,
    schema: RETRIEVAL_SCHEMA,
    entities: [DocumentEntity, ChunkEntity],
    migrations: [CreateRetrievalTables1735000000000, EmbeddingModels1736000000000],
  };
}
