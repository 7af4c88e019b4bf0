import 'reflect-metadata';
import { createLogger, runService } from '@ragmesh/observability';
import { runMigrationsCli } from '@ragmesh/persistence';
import { startRetrieval } from './app';
import { SERVICE_NAME } from './app.module';
import { loadAppConfig } from './config';
import { dataSourceOptions } from './persistence/data-source';

const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

void runService(SERVICE_NAME, async () => {
  const config = loadAppConfig();
  if (process.argv[2] === 'migrate') {
    await runMigrationsCli(dataSourceOptions(config));
    return;
  }
  const running = await startRetrieval(config);
  const logger = createLogger(SERVICE_NAME, config.LOG_LEVEL);
  for (const signal of SHUTDOWN_SIGNALS) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      running.close().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
});
