import 'reflect-metadata';
import { createLogger, exitOnShutdownSignals, runService } from '@ragmesh/observability';
import { runMigrationsCli } from '@ragmesh/persistence';
import { createGatewayApp, shutdownGateway } from './app';
import { runKeysCli } from './auth/keys-cli';
import { loadAppConfig } from './config';
import { dataSourceOptions } from './persistence/data-source';

/** Past the drain, closing the broker and database connections gets this long before the process exits anyway. */
const CLOSE_MARGIN_MS = 5_000;

void runService('gateway', async () => {
  const config = loadAppConfig();
  if (process.argv[2] === 'migrate') {
    await runMigrationsCli(dataSourceOptions(config));
    return;
  }
  if (process.argv[2] === 'keys') {
    process.exitCode = await runKeysCli(process.argv.slice(3), config);
    return;
  }
  const app = await createGatewayApp(config);
  await app.listen(config.GATEWAY_PORT, '0.0.0.0');
  exitOnShutdownSignals({
    logger: createLogger('gateway'),
    close: () => shutdownGateway(app, config.SHUTDOWN_GRACE_MS, config.SHUTDOWN_READY_DELAY_MS),
    timeoutMs: config.SHUTDOWN_READY_DELAY_MS + config.SHUTDOWN_GRACE_MS + CLOSE_MARGIN_MS,
    timeoutExitCode: 1,
  });
});
