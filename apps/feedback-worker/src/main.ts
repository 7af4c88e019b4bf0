import 'reflect-metadata';
import { runService } from '@ragmesh/observability';
import { runMigrationsCli } from '@ragmesh/persistence';
import { startFeedbackWorker } from './bootstrap';
import { loadAppConfig, SERVICE_NAME } from './config';
import { dataSourceOptions } from './persistence/data-source';

const SHUTDOWN_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
/** Past this the process exits anyway: a supervisor's kill would otherwise interrupt us at a worse moment. */
const SHUTDOWN_TIMEOUT_MS = 20_000;

void runService(SERVICE_NAME, async () => {
  const config = loadAppConfig();
  if (process.argv[2] === 'migrate') {
    await runMigrationsCli(dataSourceOptions(config));
    return;
  }
  const service = await startFeedbackWorker(config);
  const shutdown = (signal: NodeJS.Signals): void => {
    const timer = setTimeout(() => {
      process.stderr.write(`${SERVICE_NAME}: shutdown after ${signal} timed out\n`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    service.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`${SERVICE_NAME}: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  for (const signal of SHUTDOWN_SIGNALS) process.once(signal, shutdown);
});
