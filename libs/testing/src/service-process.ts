import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';

export interface ServiceProcessOptions {
  /** Node arguments: e.g. ['-r', 'scripts/register-paths.js', 'dist/apps/feedback-worker/src/main.js']. */
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** stdout and stderr go here (overwritten). */
  logFile: string;
  /** An HTTP URL that answers 200 once the service is ready. */
  readyUrl: string;
  readyTimeoutMs?: number;
}

const DEFAULT_READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

/** One service as a real process, for tests that kill, restart or add replicas. */
export class ServiceProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly logFile: string,
  ) {}

  /** Spawns the process and resolves when its ready URL answers 200; kills it and rejects with its log tail otherwise. */
  static async start(opts: ServiceProcessOptions): Promise<ServiceProcess> {
    const log = createWriteStream(opts.logFile, { flags: 'w' });
    const child = spawn(process.execPath, opts.args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const service = new ServiceProcess(child, opts.logFile);
    try {
      await waitReady(opts.readyUrl, child, opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    } catch (error) {
      service.kill('SIGKILL');
      throw new Error(`${opts.logFile}: ${(error as Error).message}\n--- log ---\n${service.log().slice(-4000)}`);
    }
    return service;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Sends the signal without waiting (SIGKILL = kill -9). */
  kill(signal: NodeJS.Signals): void {
    if (!this.exited()) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
  async stop(): Promise<void> {
    if (this.exited()) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
      this.child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }

  /** Resolves once the process has exited (e.g. after kill()). */
  waitExit(): Promise<void> {
    if (this.exited()) return Promise.resolve();
    return new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode} before ready`);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`not ready at ${url} after ${timeoutMs} ms: ${last}`);
}
