import axios, { AxiosInstance } from 'axios';
import { z } from 'zod';

export const RAY_JOB_STATUSES = ['PENDING', 'RUNNING', 'STOPPED', 'SUCCEEDED', 'FAILED'] as const;
export type RayJobStatus = (typeof RAY_JOB_STATUSES)[number];

export interface RayJobSubmission {
  submissionId: string;
  entrypoint: string;
  runtimeEnv: Record<string, unknown>;
  metadata: Record<string, string>;
  numGpus: number;
}

export interface RayJobInfo {
  status: RayJobStatus;
  message: string | null;
}

export class RayJobsError extends Error {
  override readonly name = 'RayJobsError';
}

const jobInfo = z.object({ status: z.enum(RAY_JOB_STATUSES), message: z.string().nullish() });
const logs = z.object({ logs: z.string() });
const submitted = z.object({ submission_id: z.string().optional(), job_id: z.string().nullish() });

/** The Ray Jobs REST API (the dashboard's /api/jobs/), behind an adapter so tests can swap it. */
export abstract class RayJobsClient {
  abstract submit(job: RayJobSubmission): Promise<void>;
  abstract status(submissionId: string): Promise<RayJobInfo>;
  abstract logs(submissionId: string): Promise<string>;
  abstract stop(submissionId: string): Promise<void>;
}

export class HttpRayJobsClient extends RayJobsClient {
  private readonly http: AxiosInstance;

  constructor(baseUrl: string, timeoutMs: number) {
    super();
    this.http = axios.create({ baseURL: baseUrl.replace(/\/+$/u, ''), timeout: timeoutMs, validateStatus: () => true });
  }

  async submit(job: RayJobSubmission): Promise<void> {
    const res = await this.http.post<unknown>('/api/jobs/', {
      entrypoint: job.entrypoint,
      submission_id: job.submissionId,
      runtime_env: job.runtimeEnv,
      metadata: job.metadata,
      entrypoint_num_gpus: job.numGpus,
    });
    this.expectOk(res.status, 'POST /api/jobs/', res.data);
    if (!submitted.safeParse(res.data).success) throw new RayJobsError('POST /api/jobs/: unexpected response body');
  }

  async status(submissionId: string): Promise<RayJobInfo> {
    const res = await this.http.get<unknown>(`/api/jobs/${encodeURIComponent(submissionId)}`);
    this.expectOk(res.status, `GET /api/jobs/${submissionId}`, res.data);
    const parsed = jobInfo.safeParse(res.data);
    if (!parsed.success) throw new RayJobsError(`GET /api/jobs/${submissionId}: unexpected response body`);
    return { status: parsed.data.status, message: parsed.data.message ?? null };
  }

  async logs(submissionId: string): Promise<string> {
    const res = await this.http.get<unknown>(`/api/jobs/${encodeURIComponent(submissionId)}/logs`);
    this.expectOk(res.status, `GET /api/jobs/${submissionId}/logs`, res.data);
    const parsed = logs.safeParse(res.data);
    if (!parsed.success) throw new RayJobsError(`GET /api/jobs/${submissionId}/logs: unexpected response body`);
    return parsed.data.logs;
  }

  async stop(submissionId: string): Promise<void> {
    const res = await this.http.post<unknown>(`/api/jobs/${encodeURIComponent(submissionId)}/stop`);
    this.expectOk(res.status, `POST /api/jobs/${submissionId}/stop`, res.data);
  }

  private expectOk(status: number, call: string, body: unknown): void {
    if (status >= 200 && status < 300) return;
    const detail = typeof body === 'string' ? body : JSON.stringify(body);
    throw new RayJobsError(`${call} answered HTTP ${status}: ${detail.slice(0, 300)}`);
  }
}

/** Used when RAY_JOBS_URL is not set: every call explains what is missing. */
export class UnconfiguredRayJobsClient extends RayJobsClient {
  private readonly reason = 'RAY_JOBS_URL is not set: no Ray cluster to train on';
  submit(): Promise<void> {
    return Promise.reject(new RayJobsError(this.reason));
  }
  status(): Promise<RayJobInfo> {
    return Promise.reject(new RayJobsError(this.reason));
  }
  logs(): Promise<string> {
    return Promise.reject(new RayJobsError(this.reason));
  }
  stop(): Promise<void> {
    return Promise.reject(new RayJobsError(this.reason));
  }
}

/** The trainer prints this marker followed by a JSON object as its last metrics line. */
export const METRICS_MARKER = 'RAGMESH_TRAINING_METRICS ';

export function metricsFromLogs(text: string): Record<string, unknown> | null {
  const lines = text.split('\n').filter((l) => l.includes(METRICS_MARKER));
  const last = lines.at(-1);
  if (!last) return null;
  try {
    const value: unknown = JSON.parse(last.slice(last.indexOf(METRICS_MARKER) + METRICS_MARKER.length));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
