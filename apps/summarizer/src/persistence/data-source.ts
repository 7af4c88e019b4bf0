import type { ServiceDataSourceOptions } from '@ragmesh/persistence';
import type { AppConfig } from '../config';
import { InitSummarizer1735689600000 } from './1735689600000-InitSummarizer';
import { SUMMARIZER_ENTITIES, SUMMARIZER_SCHEMA } from './entities';

export const SUMMARIZER_MIGRATIONS = [InitSummarizer1735689600000];

export const dataSourceOptions = (config: Pick<AppConfig, 'DATABASE_URL'>): ServiceDataSourceOptions => ({
  url: config.DATABASE_URL,
  schema: SUMMARIZER_SCHEMA,
  entities: SUMMARIZER_ENTITIES,
  migrations: SUMMARIZER_MIGRATIONS,
});
