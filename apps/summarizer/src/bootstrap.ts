import { type Messaging, MESSAGING } from '@ragmesh/messaging';
import { type RunningWorker, startWorker } from '@ragmesh/observability';
import { DATA_SOURCE, postgresHealthCheck } from '@ragmesh/persistence';
import type { DataSource } from 'typeorm';
import { AppModule } from './app.module';
import { type AppConfig, SERVICE_NAME } from './config';
import { TurnsConsumer } from './summaries/turns.consumer';

/** close() stops consuming, lets in-flight turns finish, then closes the broker, the database and the ops server. */
export type RunningSummarizer = RunningWorker;

/** Boots the summarizer: migrations, the ops server, then the consumer. Used by main.ts and the integration tests. */
export function startSummarizer(config: AppConfig): Promise<RunningSummarizer> {
  return startWorker({
    service: SERVICE_NAME,
    module: AppModule.register(config),
    opsPort: config.OPS_PORT,
    checks: (app) => ({ postgres: postgresHealthCheck(app.get<DataSource>(DATA_SOURCE)), rabbitmq: app.get<Messaging>(MESSAGING).healthCheck() }),
    start: (app) => app.get(TurnsConsumer).start(),
  });
}
