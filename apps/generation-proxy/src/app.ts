import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import { generation, PROTO_LOADER_OPTIONS, PROTO_PACKAGE, protoPath } from '@ragmesh/contracts';
import { addGrpcHealthAndReflection, GrpcHealthHandle, HealthCheck, startOpsServer } from '@ragmesh/observability';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AppConfig, SERVICE_NAME } from './config';
import type { EngineRouter } from './engines/engine-router';
import { upstreamHealthCheck } from './engines/upstream-health';

export interface RunningGenerationProxy {
  opsPort: number;
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
          health = addGrpcHealthAndReflection(server, pkg, [generation.GENERATION_SERVICE_NAME]);
        },
      },
      bufferLogs: true,
    },
  );
  app.useLogger(app.get(Logger));
  await app.listen();

  // The local engine is always ready; with a pool, one upstream answering /health is enough.
  const upstreamChecks = config.upstreamUrls.map((url) => upstreamHealthCheck(url));
  const checks: Record<string, HealthCheck> =
    upstreamChecks.length > 0
      ? {
          upstream: async () => {
            await Promise.any(upstreamChecks.map((check) => check())).catch(() => {
              throw new Error(`none of the ${upstreamChecks.length} upstream(s) answers /health`);
            });
          },
        }
      : {};
  const ops = await startOpsServer({ port: config.OPS_PORT, service: SERVICE_NAME, checks });

  return {
    opsPort: ops.port,
    close: async () => {
      health?.setServing(false);
      await ops.close();
      await app.close();
    },
  };
}
