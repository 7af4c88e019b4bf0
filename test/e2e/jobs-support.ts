import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, ServiceProcess } from '@ragmesh/testing';
import { authHeaders, DIST, E2E_PORTS, ROOT, type RunningMesh } from './harness';

/*
 * Helpers of the feedback-job fault tests (jobs-*.e2e-spec.ts) and of bench:jobs: building and
 * posting feedback requests at a steady rate, and feedback-worker replicas of our own to kill.
 */

export const FEEDBACK_QUEUE = 'feedback-worker.requests';

/** Delays of the worker's retry queues in the fault tests: short, so a dead job is dead in seconds. */
export const TEST_RETRY_DELAYS_MS = [300, 600, 1200];

/**
 * Env for startMesh() against a private broker: retries in milliseconds, callbacks to this
 * machine allowed, per-key rate limits out of the way of a thousand POSTs, prefetch 8.
 */
export function jobsMeshEnv(amqpUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AMQP_URL: amqpUrl,
    FEEDBACK_RETRY_DELAYS_MS: TEST_RETRY_DELAYS_MS.join(','),
    FEEDBACK_CALLBACK_TIMEOUT_MS: '2000',
    // The most the worker allows: more deliveries in flight when a worker is killed, and the 1,000 jobs finish sooner.
    FEEDBACK_PREFETCH: '8',
    OUTBOUND_ALLOWLIST: '127.0.0.0/8',
    RATE_LIMIT_REQUESTS_PER_MIN: '10000000',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

export function feedbackRequest(memberId: string, callbackUrl: string): Record<string, unknown> {
  return {
    memberId,
    startDate: '2024-05-01',
    endDate: [2024, 5, 31, 23, 59, 59],
    activity: {
      challenges: [
        { title: 'Morning run', category: 'fitness', achieved: 18, total: 20, startDate: '2024-05-01', endDate: '2024-05-31' },
        { title: '물 2리터 마시기', category: 'health', achieved: 25, total: 31 },
        { title: 'Read 20 pages', category: 'learning', achieved: 9, total: 31 },
      ],
    },
    callbackUrl,
    callbackAuthHeader: 'Bearer receiver-token',
  };
}

/** POSTs one feedback request; resolves with the job id of the 202, rejects on anything else. */
export async function postFeedback(gatewayUrl: string, body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${gatewayUrl}/v1/feedback`, {
    method: 'POST',
    headers: authHeaders({ 'content-type': 'application/json' }),
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`POST /v1/feedback answered ${res.status}: ${text.slice(0, 500)}`);
  return (JSON.parse(text) as { data: { jobId: string } }).data.jobId;
}

export interface PacedPosting {
  /** Job ids accepted so far, in acceptance order. */
  readonly accepted: string[];
  /** When each job's POST was sent (ms since epoch), by job id. */
  readonly sentAt: Map<string, number>;
  /** Resolves with every job id once all POSTs were answered 202; rejects on the first failure. */
  done: Promise<string[]>;
}

/**
 * POSTs `count` requests at about `perSecond` with at most `concurrency` open at once, so a
 * fault injected mid-run lands while requests are still arriving.
 */
export function postPaced(
  gatewayUrl: string,
  count: number,
  opts: { perSecond: number; concurrency: number; body: (i: number) => Record<string, unknown> },
): PacedPosting {
  const accepted: string[] = [];
  const sentAt = new Map<string, number>();
  const start = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const due = start + (i * 1000) / opts.perSecond;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const t0 = Date.now();
      const jobId = await postFeedback(gatewayUrl, opts.body(i));
      sentAt.set(jobId, t0);
      accepted.push(jobId);
    }
  };
  const done = Promise.all(Array.from({ length: Math.min(opts.concurrency, count) }, worker)).then(() => [...accepted]);
  return { accepted, sentAt, done };
}

/** A feedback-worker replica of our own beside the mesh's, on a free ops port, so a test can kill it. */
export async function startFeedbackWorker(mesh: RunningMesh, name: string, env: Record<string, string>): Promise<ServiceProcess & { opsPort: number }> {
  const opsPort = await freePort();
  // Beside the mesh's own logs (the harness's naming), so side-by-side runs keep theirs apart.
  const logDir = join(ROOT, '.run', `${process.env.RAGMESH_E2E_NAME ?? 'ragmesh_e2e'}-logs`);
  mkdirSync(logDir, { recursive: true });
  const worker = await ServiceProcess.start({
    args: ['-r', join(ROOT, 'scripts', 'register-paths.js'), join(DIST, 'apps', 'feedback-worker', 'src', 'main.js')],
    cwd: ROOT,
    env: {
      ...process.env,
      RAGMESH_DIST: DIST,
      DATABASE_URL: mesh.databaseUrl,
      GENERATION_GRPC_URL: `127.0.0.1:${E2E_PORTS.generationGrpc}`,
      ...env,
      OPS_PORT: String(opsPort),
    },
    logFile: join(logDir, `feedback-worker-${name}.log`),
    readyUrl: `http://127.0.0.1:${opsPort}/health/ready`,
  });
  return Object.assign(worker, { opsPort });
}

/** Sum of a counter's series whose labels include `labels`, from a service's /metrics (0 when none exists yet). */
export async function metricValue(opsPort: number, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && wanted.every((pair) => line.includes(pair)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** Jobs a worker acked on the feedback queue, from its messaging counter. */
export function ackedJobs(opsPort: number): Promise<number> {
  return metricValue(opsPort, 'ragmesh_messaging_messages_total', { queue: FEEDBACK_QUEUE, outcome: 'acked' });
}

export interface JobView {
  jobId: string;
  status: string;
  attempts: number;
  lastError: string | null;
}

export async function getJob(gatewayUrl: string, jobId: string): Promise<JobView> {
  const res = await fetch(`${gatewayUrl}/v1/feedback/${jobId}`, { headers: authHeaders() });
  if (res.status !== 200) throw new Error(`GET /v1/feedback/${jobId} answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { data: JobView }).data;
}
