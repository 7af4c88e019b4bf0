import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import { generation, PROTO_LOADER_OPTIONS, PROTO_PACKAGE, protoPath } from '@ragmesh/contracts';
import { addGrpcHealthAndReflection, GrpcHealthHandle, HealthCheck, startOpsServer } from '@ragmesh/observability';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AppConfig, SERVICE_NAME } from './config';
import type { EngineRouter } from './engines/engine-router';
import type { UpstreamPool } from './engines/upstream-pool';
import { useFastChunkSerializer } from './generation/chunk-codec';
import { UPSTREAM_POOL } from './generation/generation.module';

export interface RunningGenerationProxy {
  opsPort: number;
  /** The live upstream pool (tests and embedders change its members with `replaceUpstreams`). */
  pool: UpstreamPool;
  close(): Promise<void>;
}

/** Boots the gRPC server and the ops server; main.ts and the integration tests share it. */
export async function startGenerationProxy(
  config: AppConfig,
  overrides: { router?: EngineRouter } = {},
): Promise<RunningGenerationProxy> {
  let health: GrpcHealthHandle | undefined;
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(
    AppModule.register({ config, router: overrides.router }),
    {
      transport: Transport.GRPC,
      options: {
        package: PROTO_PACKAGE,
        protoPath: [protoPath('generation')],
        url: `0.0.0.0:${config.GENERATION_GRPC_PORT}`,
        loader: PROTO_LOADER_OPTIONS,
        // Lets in-flight streams finish on shutdown; readiness already reports NOT_SERVING.
        gracefulShutdown: true,
        onLoadPackageDefinition: (pkg: object, server: Parameters<typeof addGrpcHealthAndReflection>[0]) => {
          useFastChunkSerializer(pkg, `${PROTO_PACKAGE}.${generation.GENERATION_SERVICE_NAME}`);
          health = addGrpcHealthAndReflection(server, pkg, [generation.GENERATION_SERVICE_NAME]);
        },
      },
      bufferLogs: true,
    },
  );
  app.useLogger(app.get(Logger));
  await app.listen();

  // The local engine is always ready; with upstreams, one that passed its last health check is enough.
  const pool = app.get<UpstreamPool>(UPSTREAM_POOL);
  const checks: Record<string, HealthCheck> = {
    upstream: async () => {
      if (pool.size === 0) return;
      await pool.checkHealth();
      const members = pool.snapshot();
      if (!members.some((m) => m.healthy)) {
        throw new Error(`none of the ${members.length} upstream(s) passes /health and /v1/models`);
      }
    },
  };
  const ops = await startOpsServer({ port: config.OPS_PORT, service: SERVICE_NAME, checks });

  return {
    opsPort: ops.port,
    pool,
    close: async () => {
      health?.setServing(false);
      await ops.close();
      await app.close();
    },
  };
}
