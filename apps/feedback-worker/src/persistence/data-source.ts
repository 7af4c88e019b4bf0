import type { ServiceDataSourceOptions } from '@ragmesh/persistence';
import type { AppConfig } from '../config';
import { InitFeedback1735689600000 } from './1735689600000-InitFeedback';
import { FeedbackStatusOutbox1763900000000 } from './1763900000000-FeedbackStatusOutbox';
import { FEEDBACK_ENTITIES, FEEDBACK_SCHEMA } from './entities';

export const FEEDBACK_MIGRATIONS = [InitFeedback1735689600000, FeedbackStatusOutbox1763900000000];

export const dataSourceOptions = (config: Pick<AppConfig, 'DATABASE_URL'>): ServiceDataSourceOptions => ({
  url: config.DATABASE_URL,
  schema: FEEDBACK_SCHEMA,
  entities: FEEDBACK_ENTITIES,
  migrations: FEEDBACK_MIGRATIONS,
});
