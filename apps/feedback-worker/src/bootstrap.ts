import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Messaging } from '@ragmesh/messaging';
import { type OpsServer, startOpsServer } from '@ragmesh/observability';
import { postgresHealthCheck } from '@ragmesh/persistence';
import { Logger } from 'nestjs-pino';
import type { DataSource } from 'typeorm';
import { AppModule } from './app.module';
import { type AppConfig, SERVICE_NAME } from './config';
import { MESSAGING } from './messaging/messaging.module';
import { DATA_SOURCE } from './persistence/database.module';
import { RequestsConsumer } from './feedback/requests.consumer';

export interface RunningFeedbackWorker {
  app: INestApplicationContext;
  opsPort: number;
  /** Stops consuming, lets in-flight jobs finish, then closes the broker, the database and the ops server. */
  close(): Promise<void>;
}

/** Boots the feedback worker: migrations, the ops server, then the consumer. Used by main.ts and the integration tests. */
export async function startFeedbackWorker(config: AppConfig): Promise<RunningFeedbackWorker> {
  // abortOnError false: a boot failure rejects (runService logs it and exits 1) instead of process.abort().
  const app = await NestFactory.createApplicationContext(AppModule.register(config), { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(Logger));
  let ops: OpsServer | undefined;
  try {
    const messaging = app.get<Messaging>(MESSAGING);
    ops = await startOpsServer({
      port: config.OPS_PORT,
      service: SERVICE_NAME,
      checks: { postgres: postgresHealthCheck(app.get<DataSource>(DATA_SOURCE)), rabbitmq: messaging.healthCheck() },
    });
    await app.get(RequestsConsumer).start();
  } catch (err) {
    await app.close();
    await ops?.close();
    throw err;
  }
  const opsServer = ops;
  let closing: Promise<void> | undefined;
  return {
    app,
    opsPort: opsServer.port,
    close: () => {
      closing ??= (async () => {
        try {
          await app.close();
        } finally {
          await opsServer.close();
        }
      })();
      return closing;
    },
  };
}
