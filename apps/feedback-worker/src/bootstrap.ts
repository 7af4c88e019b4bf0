import { type Messaging, MESSAGING } from '@ragmesh/messaging';
import { type RunningWorker, startWorker } from '@ragmesh/observability';
import { DATA_SOURCE, postgresHealthCheck } from '@ragmesh/persistence';
import type { DataSource } from 'typeorm';
import { AppModule } from './app.module';
import { type AppConfig, SERVICE_NAME } from './config';
import { StatusRelay } from './feedback/job-events';
import { RequestsConsumer } from './feedback/requests.consumer';

/** close() stops consuming, lets in-flight jobs finish, then closes the broker, the database and the ops server. */
export type RunningFeedbackWorker = RunningWorker;

/** Boots the feedback worker: migrations, the ops server, then the consumer. Used by main.ts and the integration tests. */
export function startFeedbackWorker(config: AppConfig): Promise<RunningFeedbackWorker> {
  return startWorker({
    service: SERVICE_NAME,
    module: AppModule.register(config),
    opsPort: config.OPS_PORT,
    checks: (app) => ({ postgres: postgresHealthCheck(app.get<DataSource>(DATA_SOURCE)), rabbitmq: app.get<Messaging>(MESSAGING).healthCheck() }),
    start: async (app) => {
      await app.get(RequestsConsumer).start();
      app.get(StatusRelay).start();
    },
  });
}
