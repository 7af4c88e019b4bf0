import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import type pino from 'pino';
import { type HealthCheck, type OpsServer, startOpsServer } from './health';

export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export interface RunningWorker {
  app: INestApplicationContext;
  opsPort: number;
  /** Closes the Nest context (its modules' shutdown hooks drain consumers, then close the database), then the ops server. Idempotent. */
  close(): Promise<void>;
}

export interface WorkerOptions {
  service: string;
  /** The app's root module; it must import ObservabilityModule (the nestjs-pino Logger is used as Nest's logger). */
  module: DynamicModule;
  opsPort: number;
  /** Readiness checks served on /health/ready, built from the booted context. */
  checks(app: INestApplicationContext): Record<string, HealthCheck>;
  /** Starts the work (typically a consumer) once the ops server is up. */
  start(app: INestApplicationContext): Promise<void>;
}

/**
 * Boots a service without a public port (a queue consumer): the Nest application context, the
 * ops server (metrics + health), then `start`. A failure anywhere closes what was opened and rejects.
 */
export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  // abortOnError false: a boot failure rejects (runService logs it and exits 1) instead of process.abort().
  const app = await NestFactory.createApplicationContext(opts.module, { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(Logger));
  let ops: OpsServer | undefined;
  try {
    ops = await startOpsServer({ port: opts.opsPort, service: opts.service, checks: opts.checks(app) });
    await opts.start(app);
  } catch (err) {
    await app.close();
    await ops?.close();
    throw err;
  }
  const opsServer = ops;
  let closing: Promise<void> | undefined;
  return {
    app,
    opsPort: opsServer.port,
    close: () => {
      closing ??= (async () => {
        try {
          await app.close();
        } finally {
          await opsServer.close();
        }
      })();
      return closing;
    },
  };
}

export interface ShutdownOptions {
  logger: pino.Logger;
  close(): Promise<void>;
  /** Past this the process exits without waiting any longer for `close`. */
  timeoutMs: number;
  /** Exit code when the timeout fires: 0 when what is abandoned is safe to drop, 1 to tell the supervisor the stop was not clean. */
  timeoutExitCode: 0 | 1;
}

/** On SIGINT/SIGTERM: close once, then exit 0 (1 when close fails; `timeoutExitCode` when it takes too long). */
export function exitOnShutdownSignals(opts: ShutdownOptions): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    opts.logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      opts.logger.warn({ signal, timeoutMs: opts.timeoutMs }, 'shutdown timed out');
      process.exit(opts.timeoutExitCode);
    }, opts.timeoutMs);
    timer.unref();
    opts.close().then(
      () => {
        clearTimeout(timer);
        process.exit(0);
      },
      (err: unknown) => {
        clearTimeout(timer);
        opts.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const signal of SHUTDOWN_SIGNALS) process.once(signal, stop);
}
