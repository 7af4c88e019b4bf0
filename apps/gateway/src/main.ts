import 'reflect-metadata';
import { runService } from '@ragmesh/observability';
import { runMigrationsCli } from '@ragmesh/persistence';
import { createGatewayApp } from './app';
import { loadAppConfig } from './config';
import { dataSourceOptions } from './persistence/data-source';

void runService('gateway', async () => {
  const config = loadAppConfig();
  if (process.argv[2] === 'migrate') {
    await runMigrationsCli(dataSourceOptions(config));
    return;
  }
  const app = await createGatewayApp(config);
  await app.listen(config.GATEWAY_PORT, '0.0.0.0');

  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('gateway shutdown failed', err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
});
