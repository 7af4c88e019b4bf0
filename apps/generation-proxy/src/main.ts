import 'reflect-metadata';
import { createLogger, runService } from '@ragmesh/observability';
import { startGenerationProxy } from './app';
import { loadAppConfig, SERVICE_NAME } from './config';

/** Past this, shutdown stops waiting for in-flight streams. */
const SHUTDOWN_GRACE_MS = 10_000;

void runService(SERVICE_NAME, async () => {
  const config = loadAppConfig();
  const running = await startGenerationProxy(config);
  const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  logger.info({ grpcPort: config.GENERATION_GRPC_PORT, opsPort: running.opsPort }, `${SERVICE_NAME} started`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref();
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
});
