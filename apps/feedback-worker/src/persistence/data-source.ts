import type { ServiceDataSourceOptions } from '@ragmesh/persistence';
import type { AppConfig } from '../config';
import { jobsPoolSize } from '../feedback/requests.consumer';
import { InitFeedback1735689600000 } from './1735689600000-InitFeedback';
import { FeedbackStatusOutbox1763900000000 } from './1763900000000-FeedbackStatusOutbox';
import { FEEDBACK_ENTITIES, FEEDBACK_SCHEMA } from './entities';

export const FEEDBACK_MIGRATIONS = [InitFeedback1735689600000, FeedbackStatusOutbox1763900000000];

/** With FEEDBACK_PREFETCH (the service), the pool is sized for the jobs in flight; without (the migrations CLI), the default. */
export const dataSourceOptions = (config: Pick<AppConfig, 'DATABASE_URL'> & Partial<Pick<AppConfig, 'FEEDBACK_PREFETCH'>>): ServiceDataSourceOptions => ({
  url: config.DATABASE_URL,
  ...(config.FEEDBACK_PREFETCH !== undefined ? { poolSize: jobsPoolSize(config.FEEDBACK_PREFETCH) } : {}),
  schema: FEEDBACK_SCHEMA,
  entities: FEEDBACK_ENTITIES,
  migrations: FEEDBACK_MIGRATIONS,
});
