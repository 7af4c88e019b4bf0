import 'reflect-metadata';
import { createLogger, exitOnShutdownSignals, runService } from '@ragmesh/observability';
import { runMigrationsCli } from '@ragmesh/persistence';
import { startModelRegistry } from './app';
import { loadAppConfig, REGISTRY_SCHEMA, SERVICE_NAME } from './config';
import { dataSourceOptions } from './persistence/data-source-options';

/** Past this, shutdown stops waiting for in-flight calls. */
const SHUTDOWN_GRACE_MS = 10_000;

void runService(SERVICE_NAME, async () => {
  const config = loadAppConfig();
  if (process.argv[2] === 'migrate') {
    await runMigrationsCli(dataSourceOptions(config.DATABASE_URL, REGISTRY_SCHEMA));
    return;
  }
  const running = await startModelRegistry(config);
  const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  logger.info(
    { grpcPort: config.REGISTRY_GRPC_PORT, httpPort: running.httpPort, opsPort: running.opsPort },
    `${SERVICE_NAME} started`,
  );

  exitOnShutdownSignals({ logger, close: () => running.close(), timeoutMs: SHUTDOWN_GRACE_MS, timeoutExitCode: 0 });
});
