import 'reflect-metadata';
import { createLogger, exitOnShutdownSignals, runService } from '@ragmesh/observability';
import { runMigrationsCli } from '@ragmesh/persistence';
import { startSummarizer } from './bootstrap';
import { loadAppConfig, SERVICE_NAME } from './config';
import { dataSourceOptions } from './persistence/data-source';

/** Past this the process exits anyway: a supervisor's kill would otherwise interrupt us at a worse moment. */
const SHUTDOWN_TIMEOUT_MS = 20_000;

void runService(SERVICE_NAME, async () => {
  const config = loadAppConfig();
  if (process.argv[2] === 'migrate') {
    await runMigrationsCli(dataSourceOptions(config));
    return;
  }
  const service = await startSummarizer(config);
  // A timed-out close may leave a message unacked (it is redelivered): exit 1 so the stop shows as unclean.
  exitOnShutdownSignals({ logger: createLogger(SERVICE_NAME, config.LOG_LEVEL), close: () => service.close(), timeoutMs: SHUTDOWN_TIMEOUT_MS, timeoutExitCode: 1 });
});
