import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Ray Jobs REST API (the dashboard's /api/jobs/) for tests and local runs: submit, status,
 * logs, stop, list, delete. Jobs move PENDING → RUNNING → SUCCEEDED or FAILED on a timer. A
 * succeeding job really downloads the `--dataset-url` of its entrypoint (so the dataset export is
 * exercised) and prints the trainer's metrics line, exactly as deploy/ray/train_lora.py does.
 */

/** `succeed`: every job succeeds; `fail`: every job fails; `failFirst`: the first attempt of each run fails, retries succeed. */
export const FAKE_RAY_MODES = ['succeed', 'fail', 'failFirst'] as const;
export type FakeRayMode = (typeof FAKE_RAY_MODES)[number];

export type FakeJobStatus = 'PENDING' | 'RUNNING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED';

export interface FakeJob {
  submissionId: string;
  entrypoint: string;
  metadata: Record<string, string>;
  runtimeEnv: Record<string, unknown>;
  numGpus: number;
  status: FakeJobStatus;
  message: string;
  logs: string[];
  startTime: number;
  endTime: number | null;
}

export interface FakeRayOptions {
  port?: number;
  host?: string;
  mode?: FakeRayMode;
  /** Time a job spends PENDING, then RUNNING, before it ends. */
  pendingMs?: number;
  runningMs?: number;
}

export interface FakeRay {
  url: string;
  port: number;
  readonly jobs: ReadonlyMap<string, FakeJob>;
  setMode(mode: FakeRayMode): void;
  close(): Promise<void>;
}

export const DEFAULT_PENDING_MS = 100;
export const DEFAULT_RUNNING_MS = 300;
export const METRICS_MARKER = 'RAGMESH_TRAINING_METRICS ';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'request body must be a JSON object');
  return value as Record<string, unknown>;
}

/** The value after `--name` in a shell command line, unquoting '…'. */
export function argOf(entrypoint: string, name: string): string | undefined {
  const match = new RegExp(`--${name}\\s+('(?:[^']|'\\\\'')*'|\\S+)`, 'u').exec(entrypoint);
  if (!match) return undefined;
  const raw = match[1];
  return raw.startsWith("'") ? raw.slice(1, -1).replace(/'\\''/gu, "'") : raw;
}

const jobView = (job: FakeJob) => ({
  type: 'SUBMISSION',
  job_id: null,
  submission_id: job.submissionId,
  driver_info: null,
  status: job.status,
  entrypoint: job.entrypoint,
  message: job.message,
  error_type: job.status === 'FAILED' ? 'JOB_ENTRYPOINT_COMMAND_ERROR' : null,
  start_time: job.startTime,
  end_time: job.endTime,
  metadata: job.metadata,
  runtime_env: job.runtimeEnv,
  entrypoint_num_gpus: job.numGpus,
});

export async function startFakeRay(opts: FakeRayOptions = {}): Promise<FakeRay> {
  let mode: FakeRayMode = opts.mode ?? 'succeed';
  const pendingMs = opts.pendingMs ?? DEFAULT_PENDING_MS;
  const runningMs = opts.runningMs ?? DEFAULT_RUNNING_MS;
  const jobs = new Map<string, FakeJob>();
  const timers = new Set<NodeJS.Timeout>();
  const seenRuns = new Set<string>();

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const end = (job: FakeJob, status: FakeJobStatus, message: string) => {
    if (job.endTime !== null) return;
    job.status = status;
    job.message = message;
    job.endTime = Date.now();
  };

  /** What the real trainer does, minus the GPU: fetch the dataset, "train", print metrics. */
  const train = async (job: FakeJob, shouldFail: boolean): Promise<void> => {
    const datasetUrl = argOf(job.entrypoint, 'dataset-url');
    if (!datasetUrl) return end(job, 'FAILED', 'entrypoint has no --dataset-url');
    let lines: string[];
    try {
      const res = await fetch(datasetUrl);
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      lines = (await res.text()).split('\n').filter((l) => l.trim() !== '');
    } catch (err) {
      job.logs.push(`error: could not download the dataset from ${datasetUrl}: ${(err as Error).message}`);
      return end(job, 'FAILED', 'Job entrypoint command failed with exit code 1');
    }
    job.logs.push(`loaded ${lines.length} examples from ${datasetUrl}`);
    job.logs.push(`base model ${argOf(job.entrypoint, 'base-model') ?? '?'}, output ${argOf(job.entrypoint, 'output-dir') ?? '?'}`);
    if (shouldFail) {
      job.logs.push('Traceback (most recent call last):', 'torch.OutOfMemoryError: CUDA out of memory (fake-ray failure mode)');
      return end(job, 'FAILED', 'Job entrypoint command failed with exit code 1');
    }
    const epochs = Number(argOf(job.entrypoint, 'epochs') ?? 1);
    job.logs.push(`epoch ${epochs}/${epochs}: loss 0.4200`);
    job.logs.push(`${METRICS_MARKER}${JSON.stringify({ train_loss: 0.42, train_examples: lines.length, epochs })}`);
    end(job, 'SUCCEEDED', 'Job finished successfully.');
  };

  const submit = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readJson(req);
    if (typeof body.entrypoint !== 'string' || body.entrypoint === '') throw new HttpError(400, 'entrypoint: must be a non-empty string');
    const submissionId = typeof body.submission_id === 'string' && body.submission_id !== '' ? body.submission_id : `raysubmit_${jobs.size + 1}`;
    if (jobs.has(submissionId)) throw new HttpError(400, `Job with submission_id ${submissionId} already exists. Please use a different submission_id.`);
    const metadata = (body.metadata ?? {}) as Record<string, string>;
    const job: FakeJob = {
      submissionId,
      entrypoint: body.entrypoint,
      metadata,
      runtimeEnv: (body.runtime_env ?? {}) as Record<string, unknown>,
      numGpus: typeof body.entrypoint_num_gpus === 'number' ? body.entrypoint_num_gpus : 0,
      status: 'PENDING',
      message: 'Job has not started yet.',
      logs: [],
      startTime: Date.now(),
      endTime: null,
    };
    jobs.set(submissionId, job);
    const runKey = metadata.run_id ?? submissionId;
    const shouldFail = mode === 'fail' || (mode === 'failFirst' && !seenRuns.has(runKey));
    seenRuns.add(runKey);
    later(pendingMs, () => {
      if (job.endTime !== null) return;
      job.status = 'RUNNING';
      job.message = 'Job is currently running.';
      job.logs.push(`starting: ${job.entrypoint}`);
      later(runningMs, () => {
        if (job.endTime === null) void train(job, shouldFail);
      });
    });
    sendJson(res, 200, { job_id: null, submission_id: submissionId });
  };

  const find = (id: string): FakeJob => {
    const job = jobs.get(id);
    if (!job) throw new HttpError(404, `Job ${id} does not exist`);
    return job;
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'POST' && (path === '/api/jobs/' || path === '/api/jobs')) return submit(req, res);
    if (req.method === 'GET' && (path === '/api/jobs/' || path === '/api/jobs')) return sendJson(res, 200, [...jobs.values()].map(jobView));
    const match = /^\/api\/jobs\/([^/]+)(\/logs|\/stop)?\/?$/u.exec(path);
    if (!match) throw new HttpError(404, `no route for ${req.method ?? '?'} ${path}`);
    const job = find(decodeURIComponent(match[1]));
    if (req.method === 'GET' && !match[2]) return sendJson(res, 200, jobView(job));
    if (req.method === 'GET' && match[2] === '/logs') return sendJson(res, 200, { logs: job.logs.map((l) => `${l}\n`).join('') });
    if (req.method === 'POST' && match[2] === '/stop') {
      const running = job.endTime === null;
      if (running) end(job, 'STOPPED', 'Job was intentionally stopped.');
      return sendJson(res, 200, { stopped: running });
    }
    if (req.method === 'DELETE' && !match[2]) {
      if (job.endTime === null) throw new HttpError(400, `Job ${job.submissionId} is not in a terminal state`);
      jobs.delete(job.submissionId);
      return sendJson(res, 200, { deleted: true });
    }
    throw new HttpError(404, `no route for ${req.method ?? '?'} ${path}`);
  };

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (!res.headersSent) sendJson(res, status, { error: err instanceof Error ? err.message : String(err) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${!opts.host || opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${port}`,
    port,
    jobs,
    setMode: (next) => {
      if (!FAKE_RAY_MODES.includes(next)) throw new TypeError(`unknown fake-ray mode "${String(next)}" (modes: ${FAKE_RAY_MODES.join(', ')})`);
      mode = next;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
