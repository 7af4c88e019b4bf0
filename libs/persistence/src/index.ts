export {
  createServiceDataSource,
  openServiceDataSource,
  postgresHealthCheck,
  runMigrationsCli,
  migrate,
  migrationsTableName,
} from './data-source';
export type { ServiceDataSourceOptions } from './data-source';
export { DatabaseModule, DATA_SOURCE } from './database.module';
export { observePool } from './pool-metrics';
export { MicroBatcher } from './micro-batcher';
export type { MicroBatcherOptions } from './micro-batcher';
export { pgPoolOf } from './pg-pool';
