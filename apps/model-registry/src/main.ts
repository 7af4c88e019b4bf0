import 'reflect-metadata';
import { createLogger, runService } from '@ragmesh/observability';
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
