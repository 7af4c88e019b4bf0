import { ConfigError } from '@ragmesh/config';
import { createLogger } from './logger';

/** Boot failures exit with this code so supervisors and the bootstrap see the failure. */
export const BOOT_FAILURE_EXIT_CODE = 1;

function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError || (err instanceof Error && err.name === 'ConfigError');
}

/**
 * Runs an app's boot. A bad configuration prints its one-line message to stderr; any other
 * boot error is logged with its stack; both exit 1 instead of leaving a half-started process.
 */
export async function runService(service: string, bootstrap: () => Promise<void>): Promise<void> {
  try {
    await bootstrap();
  } catch (err) {
    if (isConfigError(err)) {
      process.stderr.write(`${err.message}\n`);
    } else {
      createLogger(service).fatal({ err }, `${service} failed to start`);
    }
    process.exit(BOOT_FAILURE_EXIT_CODE);
  }
}
