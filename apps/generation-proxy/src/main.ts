import 'reflect-metadata';
import { createLogger, exitOnShutdownSignals, runService } from '@ragmesh/observability';
import { startGenerationProxy } from './app';
import { loadAppConfig, SERVICE_NAME } from './config';

/** Past this, shutdown stops waiting for in-flight streams. */
const SHUTDOWN_GRACE_MS = 10_000;

void runService(SERVICE_NAME, async () => {
  const config = loadAppConfig();
  const running = await startGenerationProxy(config);
  const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  logger.info({ grpcPort: config.GENERATION_GRPC_PORT, opsPort: running.opsPort }, `${SERVICE_NAME} started`);

  exitOnShutdownSignals({ logger, close: () => running.close(), timeoutMs: SHUTDOWN_GRACE_MS, timeoutExitCode: 0 });
});
