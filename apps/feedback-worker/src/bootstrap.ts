import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Messaging } from '@ragmesh/messaging';
import { startOpsServer } from '@ragmesh/observability';
import { postgresHealthCheck } from '@ragmesh/persistence';
import { Logger } from 'nestjs-pino';
import type { DataSource } from 'typeorm';
import { AppModule, type AppModuleOptions } from './app.module';
import { type AppConfig, SERVICE_NAME } from './config';
import { MESSAGING } from './messaging/messaging.module';
import { DATA_SOURCE } from './persistence/database.module';

export interface RunningFeedbackWorker {
  app: INestApplicationContext;
  opsPort: number;
  /** Stops consuming, lets in-flight jobs finish, then closes the broker, the database and the ops server. */
  close(): Promise<void>;
}

/** Boots the feedback worker: migrations, the consumer, and the ops server. Used by main.ts and the integration tests. */
export async function startFeedbackWorker(config: AppConfig, opts: AppModuleOptions = {}): Promise<RunningFeedbackWorker> {
  const app = await NestFactory.createApplicationContext(AppModule.register(config, opts), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  const ds = app.get<DataSource>(DATA_SOURCE);
  const messaging = app.get<Messaging>(MESSAGING);
  let ops: { close(): Promise<void>; port: number };
  try {
    ops = await startOpsServer({
      port: config.OPS_PORT,
      service: SERVICE_NAME,
      checks: { postgres: postgresHealthCheck(ds), rabbitmq: messaging.healthCheck() },
    });
  } catch (err) {
    await app.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    app,
    opsPort: ops.port,
    close: () => {
      closing ??= (async () => {
        try {
          await app.close();
        } finally {
          await ops.close();
        }
      })();
      return closing;
    },
  };
}
