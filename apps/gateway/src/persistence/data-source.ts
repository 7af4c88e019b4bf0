import type { ServiceDataSourceOptions } from '@ragmesh/persistence';
import type { AppConfig } from '../config';
import { InitGateway1735689600000 } from './1735689600000-InitGateway';
import { FeedbackOutbox1735776000000 } from './1735776000000-FeedbackOutbox';
import { ApiKeysAndTenants1736000000000 } from './1736000000000-ApiKeysAndTenants';
import { GatewayReplicas1736100000000 } from './1736100000000-GatewayReplicas';
import { GATEWAY_ENTITIES, GATEWAY_SCHEMA } from './entities';

export const GATEWAY_MIGRATIONS = [InitGateway1735689600000, FeedbackOutbox1735776000000, ApiKeysAndTenants1736000000000, GatewayReplicas1736100000000];

/** Without DB_POOL_SIZE (one-off tools such as the keys CLI): node-postgres' default pool. */
export const dataSourceOptions = (config: Pick<AppConfig, 'DATABASE_URL'> & Partial<Pick<AppConfig, 'DB_POOL_SIZE'>>): ServiceDataSourceOptions => ({
  url: config.DATABASE_URL,
  poolSize: config.DB_POOL_SIZE,
  schema: GATEWAY_SCHEMA,
  entities: GATEWAY_ENTITIES,
  migrations: GATEWAY_MIGRATIONS,
});
