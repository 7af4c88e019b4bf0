import type { Server } from '@grpc/grpc-js';
import { NestFactory } from '@nestjs/core';
import { type MicroserviceOptions, Transport } from '@nestjs/microservices';
import { PROTO_LOADER_OPTIONS, PROTO_PACKAGE, protoPath, retrieval } from '@ragmesh/contracts';
import { Messaging } from '@ragmesh/messaging';
import { addGrpcHealthAndReflection, createLogger, type GrpcHealthHandle, startOpsServer } from '@ragmesh/observability';
import { openServiceDataSource, postgresHealthCheck } from '@ragmesh/persistence';
import { Logger } from 'nestjs-pino';
import { AppModule, SERVICE_NAME } from './app.module';
import type { AppConfig } from './config';
import { dataSourceOptions } from './persistence/data-source';
import { IndexLoader } from './search/index-loader';
import { Reembedder } from './embedding/reembedder';
import { IndexSyncConsumer } from './search/index-sync.consumer';

export const RETRIEVAL_SERVICE_FQN = `${PROTO_PACKAGE}.${retrieval.RETRIEVAL_SERVICE_NAME}`;

export interface RunningRetrieval {
  opsPort: number;
  close(): Promise<void>;
}

/**
 * Boots the service: PostgreSQL (migrations included), RabbitMQ, the index built from
 * PostgreSQL, then the gRPC port and the ops server. Shared by main.ts and the integration test.
 */
export async function startRetrieval(config: AppConfig): Promise<RunningRetrieval> {
  const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  const dataSource = await openServiceDataSource(dataSourceOptions(config));
  const messaging = new Messaging({ url: config.AMQP_URL, service: SERVICE_NAME, logger });
  let health: GrpcHealthHandle | undefined;
  try {
    await messaging.connect();
    const app = await NestFactory.createMicroservice<MicroserviceOptions>(
      AppModule.register({ config, dataSource, messaging }),
      {
        transport: Transport.GRPC,
        options: {
          package: PROTO_PACKAGE,
          protoPath: [protoPath('retrieval')],
          url: `0.0.0.0:${config.RETRIEVAL_GRPC_PORT}`,
          loader: PROTO_LOADER_OPTIONS,
          onLoadPackageDefinition: (pkg: object, server: Server) => {
            health = addGrpcHealthAndReflection(server, pkg, [RETRIEVAL_SERVICE_FQN]);
          },
        },
        bufferLogs: true,
      },
    );
    app.useLogger(app.get(Logger));
    // The index is complete before events are consumed or calls served.
    await app.get(IndexLoader).load();
    await app.get(IndexSyncConsumer).start(config.RETRIEVAL_INSTANCE_ID);
    await app.listen();
    // After the port opens: a changed embedding model is re-embedded while the old vectors serve.
    const reembedder = app.get(Reembedder);
    reembedder.start();
    const ops = await startOpsServer({
      port: config.OPS_PORT,
      service: SERVICE_NAME,
      checks: { postgres: postgresHealthCheck(dataSource), rabbitmq: messaging.healthCheck() },
    });
    logger.info({ grpcPort: config.RETRIEVAL_GRPC_PORT, opsPort: ops.port }, 'retrieval listening');

    let closing: Promise<void> | undefined;
    return {
      opsPort: ops.port,
      close: () =>
        (closing ??= (async () => {
          // Tell load balancers first, then stop taking calls, then drop the connections.
          health?.setServing(false);
          await reembedder.stop();
          await ops.close();
          await app.close();
          await messaging.close();
          await dataSource.destroy();
        })()),
    };
  } catch (err) {
    await messaging.close().catch(() => undefined);
    await dataSource.destroy().catch(() => undefined);
    throw err;
  }
}
