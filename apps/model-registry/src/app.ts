import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import { NestExpressApplication } from '@nestjs/platform-express';
import { PROTO_LOADER_OPTIONS, PROTO_PACKAGE, protoPath, registry } from '@ragmesh/contracts';
import { addGrpcHealthAndReflection, GrpcHealthHandle, startOpsServer } from '@ragmesh/observability';
import { Messaging, MESSAGING } from '@ragmesh/messaging';
import { openServiceDataSource, postgresHealthCheck } from '@ragmesh/persistence';
import { Logger } from 'nestjs-pino';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module';
import { AppConfig, REGISTRY_SCHEMA, SERVICE_NAME } from './config';
import { dataSourceOptions } from './persistence/data-source-options';
import { adminAuth } from './http/admin-auth';
import { EnvelopeExceptionFilter } from './http/envelope-exception.filter';
import type { LoraClient } from './training/lora.client';
import type { RayJobsClient } from './training/ray-jobs.client';
import { TrainingService } from './training/training.service';
import type { UpstreamProber } from './upstreams/upstream-prober';
import { UpstreamWatcher } from './upstreams/upstream-watcher';

/** Admin bodies are small JSON documents. */
const HTTP_BODY_LIMIT = '100kb';

export interface StartOptions {
  /** Defaults to "registry"; integration tests use a schema of their own. */
  schema?: string;
  prober?: UpstreamProber;
  ray?: RayJobsClient;
  lora?: LoraClient;
}

export interface RunningModelRegistry {
  httpPort: number;
  opsPort: number;
  watcher: UpstreamWatcher;
  training: TrainingService;
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
        amqpUrl: config.AMQP_URL,
        dataSource,
        watcher: { pollMs: config.REGISTRY_POLL_MS },
        seed: { defaultUpstreamUrl: config.GENERATION_UPSTREAM_URL },
        probeTimeoutMs: config.REGISTRY_PROBE_TIMEOUT_MS,
        embedding: {
          model: config.REGISTRY_EMBEDDING_MODEL,
          fallback: config.REGISTRY_EMBEDDING_FALLBACK,
          cacheDir: config.REGISTRY_EMBEDDING_CACHE_DIR,
          device: config.REGISTRY_EMBEDDING_DEVICE,
        },
        training: {
          pollMs: config.TRAINING_POLL_MS,
          entrypoint: config.TRAINING_ENTRYPOINT,
          runtimeEnv: config.trainingRuntimeEnv,
          numGpus: config.TRAINING_NUM_GPUS,
          outputDir: config.TRAINING_OUTPUT_DIR,
          publicUrl: config.REGISTRY_PUBLIC_URL,
          datasetSigningKey: config.adminToken,
        },
        webhooks: { secret: config.WEBHOOK_SECRET, retryDelaysMs: config.webhookRetryDelaysMs, timeoutMs: config.WEBHOOK_TIMEOUT_MS },
        outboundAllowList: config.OUTBOUND_ALLOWLIST,
        rayJobsUrl: config.RAY_JOBS_URL,
        rayJobsTimeoutMs: config.RAY_JOBS_TIMEOUT_MS,
        loraTimeoutMs: config.LORA_TIMEOUT_MS,
        prober: opts.prober,
        ray: opts.ray,
        lora: opts.lora,
      }),
      { bufferLogs: true, bodyParser: false },
    );
    app.useLogger(app.get(Logger));
    app.use(adminAuth(config.adminToken));
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
      checks: { postgres: postgresHealthCheck(dataSource), rabbitmq: app.get<Messaging>(MESSAGING).healthCheck() },
    });

    return {
      httpPort,
      opsPort: ops.port,
      watcher: app.get(UpstreamWatcher),
      training: app.get(TrainingService),
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
