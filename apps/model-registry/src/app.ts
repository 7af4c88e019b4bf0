import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import { NestExpressApplication } from '@nestjs/platform-express';
import { PROTO_LOADER_OPTIONS, PROTO_PACKAGE, protoPath, registry } from '@ragmesh/contracts';
import { addGrpcHealthAndReflection, GrpcHealthHandle, startOpsServer } from '@ragmesh/observability';
import { openServiceDataSource, postgresHealthCheck } from '@ragmesh/persistence';
import { Logger } from 'nestjs-pino';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module';
import { AppConfig, REGISTRY_SCHEMA, SERVICE_NAME } from './config';
import { dataSourceOptions } from './persistence/data-source-options';
import { EnvelopeExceptionFilter } from './upstreams/envelope-exception.filter';
import type { UpstreamProber } from './upstreams/upstream-prober';
import { UpstreamWatcher } from './upstreams/upstream-watcher';

/** Admin bodies are small JSON documents. */
const HTTP_BODY_LIMIT = '100kb';

export interface StartOptions {
  /** Defaults to "registry"; integration tests use a schema of their own. */
  schema?: string;
  prober?: UpstreamProber;
}

export interface RunningModelRegistry {
  httpPort: number;
  opsPort: number;
  watcher: UpstreamWatcher;
  close(): Promise<void>;
}

/** Migrates, then serves admin REST + gRPC (one Nest app) and the ops server. */
export async function startModelRegistry(config: AppConfig, opts: StartOptions = {}): Promise<RunningModelRegistry> {
  const dataSource = await openServiceDataSource(dataSourceOptions(config.DATABASE_URL, opts.schema ?? REGISTRY_SCHEMA));
  let health: GrpcHealthHandle | undefined;
  try {
    const app = await NestFactory.create<NestExpressApplication>(
      AppModule.register({
        logLevel: config.LOG_LEVEL,
        dataSource,
        watcher: { pollMs: config.REGISTRY_POLL_MS },
        seed: { defaultUpstreamUrl: config.GENERATION_UPSTREAM_URL },
        probeTimeoutMs: config.REGISTRY_PROBE_TIMEOUT_MS,
        prober: opts.prober,
      }),
      { bufferLogs: true, bodyParser: false },
    );
    app.useLogger(app.get(Logger));
    app.useBodyParser('json', { limit: HTTP_BODY_LIMIT });
    app.useGlobalFilters(new EnvelopeExceptionFilter());
    app.connectMicroservice<MicroserviceOptions>({
      transport: Transport.GRPC,
      options: {
        package: PROTO_PACKAGE,
        protoPath: [protoPath('registry')],
        url: `0.0.0.0:${config.REGISTRY_GRPC_PORT}`,
        loader: PROTO_LOADER_OPTIONS,
        gracefulShutdown: true,
        onLoadPackageDefinition: (pkg: object, server: Parameters<typeof addGrpcHealthAndReflection>[0]) => {
          health = addGrpcHealthAndReflection(server, pkg, [registry.MODEL_REGISTRY_SERVICE_NAME]);
        },
      },
    });
    await app.startAllMicroservices();
    await app.listen(config.REGISTRY_HTTP_PORT);
    const httpPort = (app.getHttpServer().address() as AddressInfo).port;
    const ops = await startOpsServer({
      port: config.OPS_PORT,
      service: SERVICE_NAME,
      checks: { postgres: postgresHealthCheck(dataSource) },
    });

    return {
      httpPort,
      opsPort: ops.port,
      watcher: app.get(UpstreamWatcher),
      close: async () => {
        health?.setServing(false);
        await ops.close();
        await app.close();
        await dataSource.destroy();
      },
    };
  } catch (err) {
    await dataSource.destroy();
    throw err;
  }
}
