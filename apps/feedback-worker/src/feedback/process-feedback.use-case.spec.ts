import { status } from '@grpc/grpc-js';
import { PermanentError } from '@ragmesh/messaging';
import { MetricsService } from '@ragmesh/observability';
import { Registry } from 'prom-client';
import { GenerationRepository, type GenerateRequest, type GenerateResponse } from '../grpc/generation.repository';
import type { JobStatus } from '../persistence/entities';
import { type CallbackBody, CallbackClient, type DeliverOptions } from './callback.client';
import { OutboundError } from '@ragmesh/outbound';
import { FEEDBACK_ACTIVITY_MARKER } from '@ragmesh/llm';
import { JobEvents } from './job-events';
import { FeedbackMetrics } from './feedback.metrics';
import { type JobRecord, type JobRun, JobsRepository, type StartedJob, type StatusChange } from './jobs.repository';

class RecordedEvents extends JobEvents {
  readonly changes: StatusChange[] = [];
  async statusChanged(change: StatusChange): Promise<void> {
    this.changes.push(change);
  }
  async publish(change: StatusChange): Promise<void> {
    this.changes.push(change);
  }
}
import { JobBusyError, ProcessFeedbackUseCase, type ProcessFeedbackCommand } from './process-feedback.use-case';

class InMemoryJobs extends JobsRepository {
  readonly jobs = new Map<string, JobRecord>();
  readonly processed = new Set<string>();
  readonly locked = new Set<string>();
  /** Each job lock's release, with whether the job's outcome was stored by then. */
  readonly releases: { jobId: string; status: JobStatus | undefined }[] = [];

  async runJob<T>(envelopeId: string, job: Pick<JobRecord, 'id' | 'memberId' | 'callbackUrl'>, work: (job: StartedJob) => Promise<T>): Promise<JobRun<T>> {
    if (this.locked.has(job.id)) return { outcome: 'busy' };
    this.locked.add(job.id);
    try {
      if (this.processed.has(envelopeId) || this.jobs.get(job.id)?.status === 'succeeded') return { outcome: 'done' };
      const existing = this.jobs.get(job.id);
      const attempts = (existing?.attempts ?? 0) + 1;
      this.jobs.set(job.id, { content: null, lastError: null, ...existing, ...job, status: 'running', attempts });
      return {
        outcome: 'ran',
        value: await work({
          created: !existing,
          running: this.changeOf(job.id),
          succeed: async (content) => {
            this.update(job.id, { status: 'succeeded', content, lastError: null });
            this.processed.add(envelopeId);
            return this.changeOf(job.id);
          },
          fail: async (status, error) => {
            this.update(job.id, { status, lastError: error });
            return this.changeOf(job.id);
          },
        }),
      };
    } finally {
      this.locked.delete(job.id);
      this.releases.push({ jobId: job.id, status: this.jobs.get(job.id)?.status });
    }
  }
  async markStatusPublished(): Promise<void> {}
  async unpublishedStatuses(): Promise<StatusChange[]> {
    return [];
  }
  private changeOf(jobId: string): StatusChange {
    const job = this.jobs.get(jobId) as JobRecord;
    return { jobId, status: job.status, attempts: job.attempts, at: new Date(), ...(job.lastError ? { lastError: job.lastError } : {}) };
  }
  private update(jobId: string, patch: Partial<JobRecord>): void {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`no job ${jobId}`);
    this.jobs.set(jobId, { ...job, ...patch });
  }
}

class FakeGeneration extends GenerationRepository {
  readonly requests: GenerateRequest[] = [];
  reply: GenerateResponse | Error = { model: 'fake', text: 'Great progress this week.', finishReason: 'stop', upstream: 'fake', usage: undefined };
  async generate(request: GenerateRequest): Promise<GenerateResponse> {
    this.requests.push(request);
    if (this.reply instanceof Error) throw this.reply;
    return this.reply;
  }
}

class FakeCallbacks extends CallbackClient {
  readonly calls: { url: string; deliveryId: string; body: CallbackBody; opts?: DeliverOptions }[] = [];
  answer: number | Error = 200;
  async deliver(url: string, deliveryId: string, body: CallbackBody, opts?: DeliverOptions): Promise<{ status: number }> {
    this.calls.push({ url, deliveryId, body, ...(opts?.authHeader ? { opts } : {}) });
    if (this.answer instanceof Error) throw this.answer;
    return { status: this.answer };
  }
}

const JOB = '0d4f1b5e-5c1e-4a2b-9f7e-1a2b3c4d5e6f';

describe('ProcessFeedbackUseCase', () => {
  let jobs: InMemoryJobs;
  let generation: FakeGeneration;
  let callbacks: FakeCallbacks;
  let registry: Registry;
  let useCase: ProcessFeedbackUseCase;
  let events: RecordedEvents;

  const command = (overrides: Partial<ProcessFeedbackCommand> = {}): ProcessFeedbackCommand => ({
    envelopeId: 'env-1',
    jobId: JOB,
    memberId: 'member-42',
    callbackUrl: 'https://backend.example/feedback',
    prompt: 'Write feedback for 3 workouts this week.',
    isLastAttempt: false,
    ...overrides,
  });

  const transitions = async (): Promise<Partial<Record<JobStatus, number>>> => {
    const metric = await registry.getSingleMetric('ragmesh_feedback_jobs_total')?.get();
    return Object.fromEntries((metric?.values ?? []).filter((v) => v.value > 0).map((v) => [v.labels.status, v.value]));
  };

  beforeEach(() => {
    jobs = new InMemoryJobs();
    generation = new FakeGeneration();
    callbacks = new FakeCallbacks();
    registry = new Registry();
    events = new RecordedEvents();
    useCase = new ProcessFeedbackUseCase(jobs, generation, callbacks, new FeedbackMetrics(new MetricsService(undefined, registry)), events, { model: 'local-feedback' });
  });

  it('generates from the prompt alone, delivers {memberId, content} and records success', async () => {
    await expect(useCase.execute(command())).resolves.toBe('succeeded');

    expect(generation.requests).toHaveLength(1);
    expect(generation.requests[0].messages).toEqual([{ role: 'user', content: 'Write feedback for 3 workouts this week.' }]);
    expect(generation.requests[0].context).toEqual([]);
    expect(callbacks.calls).toEqual([
      { url: 'https://backend.example/feedback', deliveryId: JOB, body: { memberId: 'member-42', content: 'Great progress this week.', jobId: JOB } },
    ]);
    expect(jobs.jobs.get(JOB)).toMatchObject({ status: 'succeeded', attempts: 1, content: 'Great progress this week.' });
    expect(jobs.processed.has('env-1')).toBe(true);
    expect(await transitions()).toEqual({ queued: 1, running: 1, succeeded: 1 });
  });

  it('stores the outcome before the job lock is released', async () => {
    await useCase.execute(command());
    callbacks.answer = 503;
    const other = '6d4f1b5e-5c1e-4a2b-9f7e-1a2b3c4d5e6f';
    await expect(useCase.execute(command({ envelopeId: 'env-2', jobId: other }))).rejects.toThrow();
    expect(jobs.releases).toEqual([
      { jobId: JOB, status: 'succeeded' },
      { jobId: other, status: 'failed' },
    ]);
  });

  it('never delivers a succeeded job twice, even under another envelope id', async () => {
    await useCase.execute(command());
    await expect(useCase.execute(command())).resolves.toBe('duplicate');
    await expect(useCase.execute(command({ envelopeId: 'env-2' }))).resolves.toBe('duplicate');

    expect(callbacks.calls).toHaveLength(1);
    expect(generation.requests).toHaveLength(1);
  });

  it('refuses to run while another delivery of the job holds its lock', async () => {
    jobs.locked.add(JOB);
    await expect(useCase.execute(command())).rejects.toBeInstanceOf(JobBusyError);
    expect(callbacks.calls).toHaveLength(0);
  });

  it('marks the job dead with a PermanentError when the callback answers 4xx', async () => {
    callbacks.answer = 400;

    const failure = useCase.execute(command());
    await expect(failure).rejects.toBeInstanceOf(PermanentError);
    await expect(failure).rejects.toThrow('callback refused with HTTP 400');
    expect(jobs.jobs.get(JOB)).toMatchObject({ status: 'dead', lastError: 'callback refused with HTTP 400' });
    expect(await transitions()).toEqual({ queued: 1, running: 1, dead: 1 });
  });

  it.each<[string, number | Error]>([
    ['a 5xx', 503],
    ['a 429', 429],
    ['a network error', new Error('connect ECONNREFUSED 10.0.0.1:443')],
  ])('retries after %s: job failed, error not permanent', async (_name, answer) => {
    callbacks.answer = answer;

    const failure = useCase.execute(command());
    await expect(failure).rejects.toThrow();
    await expect(failure).rejects.not.toBeInstanceOf(PermanentError);
    expect(jobs.jobs.get(JOB)?.status).toBe('failed');
    expect(jobs.processed.size).toBe(0);
  });

  it('marks the job dead when the last attempt fails, and succeeds on a retry before that', async () => {
    callbacks.answer = 500;
    await expect(useCase.execute(command())).rejects.toThrow('callback answered HTTP 500');
    callbacks.answer = 200;
    await expect(useCase.execute(command())).resolves.toBe('succeeded');
    expect(jobs.jobs.get(JOB)).toMatchObject({ status: 'succeeded', attempts: 2 });

    callbacks.answer = 502;
    await expect(useCase.execute(command({ envelopeId: 'env-other', jobId: '9d4f1b5e-5c1e-4a2b-9f7e-1a2b3c4d5e6f', isLastAttempt: true }))).rejects.toThrow();
    expect(jobs.jobs.get('9d4f1b5e-5c1e-4a2b-9f7e-1a2b3c4d5e6f')?.status).toBe('dead');
    expect(await transitions()).toEqual({ queued: 2, running: 3, failed: 1, succeeded: 1, dead: 1 });
  });

  it('dead-letters on INVALID_ARGUMENT from generation and retries on UNAVAILABLE, without calling back', async () => {
    generation.reply = Object.assign(new Error('bad'), { code: status.INVALID_ARGUMENT, details: 'messages[0].content: too long' });
    await expect(useCase.execute(command())).rejects.toBeInstanceOf(PermanentError);
    expect(jobs.jobs.get(JOB)?.status).toBe('dead');

    generation.reply = Object.assign(new Error('down'), { code: status.UNAVAILABLE, details: 'no upstream' });
    const failure = useCase.execute(command({ envelopeId: 'env-2' }));
    await expect(failure).rejects.toThrow('generation Generate failed with UNAVAILABLE: no upstream');
    await expect(failure).rejects.not.toBeInstanceOf(PermanentError);
    expect(jobs.jobs.get(JOB)?.status).toBe('failed');
    expect(callbacks.calls).toHaveLength(0);
  });

  it('retries instead of delivering empty feedback', async () => {
    generation.reply = { model: 'fake', text: '  ', finishReason: 'stop', upstream: 'fake', usage: undefined };
    await expect(useCase.execute(command())).rejects.toThrow('returned no text');
    expect(callbacks.calls).toHaveLength(0);
  });

  it('announces each status transition with the attempt count and sends the caller\'s auth header', async () => {
    callbacks.answer = 503;
    await expect(useCase.execute(command({ callbackAuthHeader: 'Bearer t' }))).rejects.toThrow('callback answered HTTP 503');
    callbacks.answer = 200;
    await expect(useCase.execute(command({ envelopeId: 'env-2', callbackAuthHeader: 'Bearer t' }))).resolves.toBe('succeeded');
    expect(events.changes.map(({ at: _at, ...change }) => change)).toEqual([
      { jobId: JOB, status: 'running', attempts: 1 },
      { jobId: JOB, status: 'failed', attempts: 1, lastError: 'callback answered HTTP 503' },
      // A retry keeps showing the previous attempt's error until it succeeds.
      { jobId: JOB, status: 'running', attempts: 2, lastError: 'callback answered HTTP 503' },
      { jobId: JOB, status: 'succeeded', attempts: 2 },
    ]);
    expect(callbacks.calls.map((c) => c.opts)).toEqual([{ authHeader: 'Bearer t' }, { authHeader: 'Bearer t' }]);
  });

  it('asks the configured model and hands it the activity as a marked system message', async () => {
    const activity = { memberId: 'member-42', period: { startDate: '2024-05-01T00:00:00.000Z', endDate: '2024-05-31T00:00:00.000Z' }, activity: { challenges: [{ title: '독서', category: '학습', achieved: 3, total: 5 }] } };
    await useCase.execute(command({ activity }));
    const [request] = generation.requests;
    expect(request.model).toBe('local-feedback');
    expect(request.messages[0].role).toBe('system');
    expect(request.messages[0].content.startsWith(FEEDBACK_ACTIVITY_MARKER)).toBe(true);
    expect(JSON.parse(request.messages[0].content.slice(FEEDBACK_ACTIVITY_MARKER.length))).toEqual(activity);
    expect(request.messages[1]).toEqual({ role: 'user', content: 'Write feedback for 3 workouts this week.' });
  });

  it('dead-letters an activity that does not fit, naming the field, without generating', async () => {
    const failure = useCase.execute(command({ activity: { memberId: 'member-42', activity: { challenges: [{ title: 'x', category: 'y', achieved: -1, total: 5 }] } } }));
    await expect(failure).rejects.toBeInstanceOf(PermanentError);
    await expect(failure).rejects.toThrow(/invalid activity: activity\.challenges\.0\.achieved/);
    expect(generation.requests).toHaveLength(0);
    expect(jobs.jobs.get(JOB)?.status).toBe('dead');
  });

  it('marks the job dead when the callback target is refused by the SSRF rules, and retries a timeout', async () => {
    callbacks.answer = new OutboundError('BLOCKED_ADDRESS', '10.0.0.1 is in a private range', 'http://10.0.0.1/cb');
    await expect(useCase.execute(command())).rejects.toBeInstanceOf(PermanentError);
    expect(jobs.jobs.get(JOB)).toMatchObject({ status: 'dead', lastError: expect.stringContaining('private range') });

    callbacks.answer = new OutboundError('TIMEOUT', 'no complete answer within 10000 ms');
    const other = '7d4f1b5e-5c1e-4a2b-9f7e-1a2b3c4d5e6f';
    const failure = useCase.execute(command({ envelopeId: 'env-3', jobId: other }));
    await expect(failure).rejects.not.toBeInstanceOf(PermanentError);
    expect(jobs.jobs.get(other)?.status).toBe('failed');
  });

  it('times every attempt in ragmesh_feedback_job_attempt_duration_seconds by outcome', async () => {
    await useCase.execute(command());
    callbacks.answer = 503;
    await expect(useCase.execute(command({ envelopeId: 'env-9', jobId: '8d4f1b5e-5c1e-4a2b-9f7e-1a2b3c4d5e6f' }))).rejects.toThrow();
    const metric = await registry.getSingleMetric('ragmesh_feedback_job_attempt_duration_seconds')?.get();
    const counts = Object.fromEntries((metric?.values ?? []).filter((v) => (v as { metricName?: string }).metricName?.endsWith('_count')).map((v) => [v.labels.outcome, v.value]));
    expect(counts).toEqual({ succeeded: 1, failed: 1 });
  });
});
