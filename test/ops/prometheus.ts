import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@ragmesh/testing';
import { ROOT } from '../e2e/harness';

/** The rule files the deployed Prometheus loads: the panel test evaluates the same recording rules. */
export const RULE_FILES = ['recording.yml', 'alerts.yml'].map((f) => join(ROOT, 'deploy', 'prometheus', 'rules', f));

export interface ScrapeJob {
  job: string;
  targets: string[];
  metricsPath?: string;
}

export interface RunningPrometheus {
  url: string;
  logFile: string;
  stop(): Promise<void>;
}

export function prometheusBinary(): string {
  const binary = process.env.PROMETHEUS_BIN ?? 'prometheus';
  try {
    execFileSync(binary, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${binary} not found: install Debian's prometheus package (scripts/bootstrap.sh does) or set PROMETHEUS_BIN`);
  }
  return binary;
}

function config(jobs: ScrapeJob[], intervalSeconds: number): string {
  const lines = [
    'global:',
    `  scrape_interval: ${intervalSeconds}s`,
    `  evaluation_interval: ${intervalSeconds}s`,
    'rule_files:',
    ...RULE_FILES.map((f) => `  - ${JSON.stringify(f)}`),
    'scrape_configs:',
  ];
  for (const job of jobs) {
    lines.push(`  - job_name: ${JSON.stringify(job.job)}`, `    metrics_path: ${JSON.stringify(job.metricsPath ?? '/metrics')}`);
    lines.push('    static_configs:', `      - targets: ${JSON.stringify(job.targets)}`);
  }
  return `${lines.join('\n')}\n`;
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`prometheus not ready at ${url} after ${timeoutMs} ms`);
}

/** Debian's Prometheus on a free port with its own temporary storage, scraping `jobs`. */
export async function startPrometheus(jobs: ScrapeJob[], opts: { intervalSeconds?: number; logFile: string }): Promise<RunningPrometheus> {
  const binary = prometheusBinary();
  const dir = mkdtempSync(join(tmpdir(), 'ragmesh-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, config(jobs, opts.intervalSeconds ?? 1));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      // Debian's build serves its web UI from /usr/share; the test needs only the API.
      '--web.console.templates=/dev/null',
      '--web.console.libraries=/dev/null',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log = createWriteStream(opts.logFile, { flags: 'w' });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, logFile: opts.logFile, stop };
}
