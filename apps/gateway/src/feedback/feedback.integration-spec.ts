import type { NestExpressApplication } from '@nestjs/platform-express';
import { EVENTS_EXCHANGE, type Envelope, type MessagePayload } from '@ragmesh/contracts';
import { Messaging } from '@ragmesh/messaging';
import { DATA_SOURCE } from '@ragmesh/persistence';
import * as amqplib from 'amqplib';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { DataSource } from 'typeorm';
import { createGatewayApp } from '../app';
import { loadAppConfig } from '../config';
import { FeedbackRepository, type NewFeedbackJob } from './feedback.repository';
import { FeedbackUseCase } from './feedback.use-case';
import { authFetch, TEST_API_KEY } from '../../test/auth';
import { collectPublished, waitFor } from '@ragmesh/testing';

/* The gateway in-process against the real PostgreSQL and RabbitMQ: POST → outbox → relay → broker, and status events back. */

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh';

type Requested = Envelope<MessagePayload<'feedback.requested'>>;
// Response bodies are asserted field by field; a loose type keeps the assertions readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

jest.setTimeout(30_000);

const request = (memberId: string) => ({
  memberId,
  startDate: [2024, 5, 1],
  endDate: '2024-05-31T23:59:59Z',
  activity: { challenges: [{ title: 'Walk 10k steps', category: 'walking', achieved: 18, total: 31 }] },
  callbackUrl: 'http://backend.example//hooks//feedback',
  callbackAuthHeader: 'Bearer secret-token',
});

describe('feedback API (integration)', () => {
  let app: NestExpressApplication;
  let base: string;
  let ds: DataSource;
  let amqp: amqplib.ChannelModel;
  let publisher: Messaging;
  const requested: Requested[] = [];

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    authFetch(`${base}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const json = (res: Response): Promise<Json> => res.json() as Promise<Json>;

  beforeAll(async () => {
    // A temporary queue on the events exchange shows what the relay published; bound before the app so nothing is unroutable.
    amqp = await amqplib.connect(AMQP_URL);
    await collectPublished<Requested>(await amqp.createChannel(), EVENTS_EXCHANGE, 'feedback.requested', (m) => requested.push(m));

    const config = loadAppConfig({ ...process.env, RAGMESH_BOOTSTRAP_API_KEY: TEST_API_KEY, DATABASE_URL, AMQP_URL, LOG_LEVEL: 'warn', RETRIEVAL_GRPC_URL: '127.0.0.1:1', GENERATION_GRPC_URL: '127.0.0.1:1' });
    app = await createGatewayApp(config);
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    ds = app.get<DataSource>(DATA_SOURCE);
    publisher = new Messaging({ url: AMQP_URL, service: 'feedback-test' });
    await publisher.connect();
  });

  afterAll(async () => {
    await publisher?.close();
    await amqp?.close();
    await app?.close();
  });

  it('answers 202 with a job id at once, and the relay publishes feedback.requested from the outbox', async () => {
    const memberId = `m-${randomUUID()}`;
    const res = await post(request(memberId), { 'x-correlation-id': 'corr-feedback-1' });
    expect(res.status).toBe(202);
    const body = await json(res);
    expect(body).toEqual({ status: 'ok', message: 'feedback job accepted', data: { jobId: expect.stringMatching(/^[0-9a-f-]{36}$/) } });
    const { jobId } = body.data as { jobId: string };

    const message = await waitFor('feedback.requested', () => requested.find((e) => e.payload.jobId === jobId));
    expect(message.type).toBe('feedback.requested');
    expect(message.correlationId).toBe('corr-feedback-1');
    expect(message.payload).toEqual({
      jobId,
      memberId,
      callbackUrl: 'http://backend.example/hooks/feedback',
      prompt: expect.stringContaining('Walk 10k steps [walking]: 18/31 achieved (58%)'),
      period: { startDate: '2024-05-01T00:00:00.000Z', endDate: '2024-05-31T23:59:59.000Z' },
      activity: { challenges: [{ title: 'Walk 10k steps', category: 'walking', achieved: 18, total: 31 }] },
      callbackAuthHeader: 'Bearer secret-token',
    });

    // The envelope id is the outbox row's id, so a re-publish after a crash is the same message.
    const [row] = await waitFor('outbox row marked published', async () => {
      const rows: { id: string; published_at: Date | null }[] = await ds.query(`SELECT o.id, o.published_at FROM gateway.outbox o WHERE o.payload->>'jobId' = $1`, [jobId]);
      return rows[0]?.published_at ? rows : undefined;
    });
    expect(row.id).toBe(message.id);
    // The auth header is a secret: it travels in the message only, not in the stored request.
    const [job]: { request: Record<string, unknown>; status: string }[] = await ds.query(`SELECT request, status FROM gateway.feedback_jobs WHERE id = $1`, [jobId]);
    expect(job.status).toBe('queued');
    expect(job.request).not.toHaveProperty('callbackAuthHeader');

    const status = await json(await authFetch(`${base}/v1/feedback/${jobId}`));
    expect(status).toEqual({ status: 'ok', message: 'feedback job queued', data: expect.objectContaining({ jobId, memberId, status: 'queued', attempts: 0, lastError: null }) });

    const metrics = await (await authFetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/ragmesh_outbox_published_total\{[^}]*type="feedback.requested"[^}]*\} [1-9]/);
    expect(metrics).toContain('ragmesh_outbox_pending');
  });

  it('returns the same job for the same Idempotency-Key and refuses the key with a different request', async () => {
    const key = `key-${randomUUID()}`;
    const memberId = `m-${randomUUID()}`;
    const first = await json(await post(request(memberId), { 'idempotency-key': key }));
    // Same request, spelled differently (date string instead of array): still the same request.
    const again = await post({ ...request(memberId), startDate: '2024-05-01' }, { 'idempotency-key': key });
    expect(again.status).toBe(202);
    expect(await json(again)).toEqual({ status: 'ok', message: 'feedback job already accepted', data: { jobId: first.data.jobId } });

    const conflicting = await post(request('someone-else'), { 'idempotency-key': key });
    expect(conflicting.status).toBe(422);
    expect(await json(conflicting)).toEqual({ status: 'error', message: `Idempotency-Key "${key}" was already used with a different request`, data: null, request_id: expect.any(String) });

    const [{ jobs, messages }]: { jobs: string; messages: string }[] = await ds.query(
      `SELECT (SELECT count(*) FROM gateway.feedback_jobs WHERE member_id = $1) AS jobs,
              (SELECT count(*) FROM gateway.outbox WHERE payload->>'memberId' = $1) AS messages`,
      [memberId],
    );
    expect({ jobs: Number(jobs), messages: Number(messages) }).toEqual({ jobs: 1, messages: 1 });

    // Concurrent first requests with one key: exactly one job.
    const raceKey = `key-${randomUUID()}`;
    const raced = await Promise.all([1, 2, 3].map(() => post(request(memberId), { 'idempotency-key': raceKey }).then(json)));
    expect(new Set(raced.map((r: Json) => r.data.jobId as string)).size).toBe(1);
  });

  describe('group commit: concurrent creates share one statement', () => {
    const newJob = (memberId: string, idempotencyKey?: string): NewFeedbackJob => {
      const jobId = randomUUID();
      const stored = { memberId, startDate: '2024-05-01T00:00:00.000Z', endDate: '2024-05-31T00:00:00.000Z', activity: { challenges: [] }, callbackUrl: 'http://backend.example/cb' };
      return {
        jobId,
        tenant: 'default',
        memberId,
        request: stored,
        requestHash: `hash-${memberId}`,
        idempotencyKey,
        message: {
          id: randomUUID(),
          payload: { jobId, memberId, callbackUrl: stored.callbackUrl, prompt: 'p', period: { startDate: stored.startDate, endDate: stored.endDate }, activity: stored.activity },
        },
      };
    };
    /** The job rows and outbox rows these jobs left: the outbox row by its message id, naming its job. */
    const stored = async (jobs: NewFeedbackJob[]) => {
      const rows: { id: string; outbox_job: string | null }[] = await ds.query(
        `SELECT j.id, o.payload->>'jobId' AS outbox_job FROM gateway.feedback_jobs j LEFT JOIN gateway.outbox o ON o.id = ANY($2::uuid[]) AND o.payload->>'jobId' = j.id::text WHERE j.id = ANY($1::uuid[])`,
        [jobs.map((j) => j.jobId), jobs.map((j) => j.message.id)],
      );
      return new Map(rows.map((r) => [r.id, r.outbox_job]));
    };
    const statements = (spy: jest.SpyInstance) => {
      const texts = spy.mock.calls.map((c) => String(c[0]).trim());
      return { batched: texts.filter((t) => t.startsWith('WITH input AS')).length, single: texts.filter((t) => t.startsWith('WITH job AS')).length };
    };

    it('writes every job and its outbox row in one statement, each caller getting its own result (a repeated key finds the first)', async () => {
      const repo = app.get(FeedbackRepository);
      const key = `key-${randomUUID()}`;
      const jobs = [newJob(`m-${randomUUID()}`), newJob(`m-${randomUUID()}`, key), newJob(`m-${randomUUID()}`, key), newJob(`m-${randomUUID()}`)];
      const spy = jest.spyOn(ds, 'query');
      try {
        const results = await Promise.all(jobs.map((j) => repo.create(j)));
        expect(results).toEqual([
          { created: true, jobId: jobs[0].jobId },
          { created: true, jobId: jobs[1].jobId },
          { created: false, existing: { jobId: jobs[1].jobId, requestHash: jobs[1].requestHash } },
          { created: true, jobId: jobs[3].jobId },
        ]);
        expect(statements(spy)).toEqual({ batched: 1, single: 0 });
      } finally {
        spy.mockRestore();
      }
      const rows = await stored(jobs);
      expect(Object.fromEntries(rows)).toEqual({ [jobs[0].jobId]: jobs[0].jobId, [jobs[1].jobId]: jobs[1].jobId, [jobs[3].jobId]: jobs[3].jobId });
    });

    it('a batch that fails is retried one job at a time: only the bad job fails, the others are written', async () => {
      const repo = app.get(FeedbackRepository);
      // PostgreSQL's jsonb refuses a lone surrogate: the batch statement fails as a whole.
      const jobs = [newJob(`m-${randomUUID()}`), newJob('bad-\ud800'), newJob(`m-${randomUUID()}`)];
      const spy = jest.spyOn(ds, 'query');
      let settled: PromiseSettledResult<unknown>[];
      try {
        settled = await Promise.allSettled(jobs.map((j) => repo.create(j)));
        expect(statements(spy)).toEqual({ batched: 1, single: 3 });
      } finally {
        spy.mockRestore();
      }
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(settled[0]).toEqual({ status: 'fulfilled', value: { created: true, jobId: jobs[0].jobId } });
      const rows = await stored(jobs);
      expect(Object.fromEntries(rows)).toEqual({ [jobs[0].jobId]: jobs[0].jobId, [jobs[2].jobId]: jobs[2].jobId });
    });

    it('answers concurrent POSTs each with its own job, every one published', async () => {
      const members = Array.from({ length: 12 }, () => `m-${randomUUID()}`);
      const responses = await Promise.all(members.map((m) => post(request(m))));
      expect(responses.map((r) => r.status)).toEqual(members.map(() => 202));
      const ids = await Promise.all(responses.map(async (r) => (await json(r)).data.jobId as string));
      expect(new Set(ids).size).toBe(members.length);
      const messages = await waitFor('every job published', () => {
        const found = ids.map((id) => requested.find((e) => e.payload.jobId === id));
        return found.every(Boolean) ? found : undefined;
      });
      expect(messages.map((m) => m?.payload.memberId)).toEqual(members);
    });
  });

  it('updates the job from feedback.status.changed events, ignoring duplicates and stale events', async () => {
    const { data } = await json(await post(request(`m-${randomUUID()}`)));
    const jobId = data.jobId as string;
    const t0 = Date.now();
    const at = (ms: number) => new Date(t0 + ms).toISOString();

    await publisher.publish('feedback.status.changed', { jobId, status: 'failed', attempts: 1, lastError: 'callback answered HTTP 503', at: at(10) });
    const failed = await waitFor('failed status', async () => {
      const res = await json(await authFetch(`${base}/v1/feedback/${jobId}`));
      return res.data.status === 'failed' ? res.data : undefined;
    });
    expect(failed).toEqual(expect.objectContaining({ attempts: 1, lastError: 'callback answered HTTP 503', statusChangedAt: at(10) }));

    const done = await publisher.publish('feedback.status.changed', { jobId, status: 'succeeded', attempts: 2, at: at(30) });
    // Older than what is stored: arrives late, changes nothing.
    const stale = await publisher.publish('feedback.status.changed', { jobId, status: 'running', attempts: 2, at: at(20) });
    await waitFor('both events processed', async () => {
      const rows: unknown[] = await ds.query(`SELECT id FROM gateway.processed_messages WHERE id = ANY($1)`, [[done.id, stale.id]]);
      return rows.length === 2 ? true : undefined;
    });
    const final = await json(await authFetch(`${base}/v1/feedback/${jobId}`));
    expect(final.data).toEqual(expect.objectContaining({ status: 'succeeded', attempts: 2, lastError: null }));
    // A redelivery of an already applied envelope is recognised by its id.
    await expect(app.get(FeedbackUseCase).applyStatus(done.id, { ...done.payload, status: 'dead', at: at(99) })).resolves.toBe('duplicate');
  });

  it('applies a batch of status events in one statement: the newest fresh event per job wins, each gets its outcome', async () => {
    const jobA = (await json(await post(request(`m-${randomUUID()}`)))).data.jobId as string;
    const jobB = (await json(await post(request(`m-${randomUUID()}`)))).data.jobId as string;
    const t0 = Date.now();
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    const feedback = app.get(FeedbackUseCase);
    const seen = `seen-${randomUUID()}`;
    await expect(feedback.applyStatus(seen, { jobId: jobB, status: 'running', attempts: 1, at: at(5) })).resolves.toBe('applied');

    const ids = Array.from({ length: 5 }, () => `batch-${randomUUID()}`);
    const outcomes = await feedback.applyStatuses([
      // running and succeeded of one job in one batch, the later one first: succeeded must win.
      { envelopeId: ids[0], event: { jobId: jobA, status: 'succeeded', attempts: 1, at: at(20) } },
      { envelopeId: ids[1], event: { jobId: jobA, status: 'running', attempts: 1, at: at(10) } },
      // Older than what jobB stores.
      { envelopeId: ids[2], event: { jobId: jobB, status: 'queued', attempts: 0, at: at(1) } },
      { envelopeId: seen, event: { jobId: jobB, status: 'dead', attempts: 3, at: at(99) } },
      { envelopeId: ids[4], event: { jobId: randomUUID(), status: 'running', attempts: 1, at: at(10) } },
    ]);
    expect(outcomes).toEqual(['applied', 'stale', 'stale', 'duplicate', 'unknown-job']);
    const rows: { id: string; status: string; status_changed_at: Date }[] = await ds.query(
      `SELECT id, status, status_changed_at FROM gateway.feedback_jobs WHERE id = ANY($1::uuid[])`,
      [[jobA, jobB]],
    );
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(byId[jobA]).toEqual(expect.objectContaining({ status: 'succeeded', status_changed_at: new Date(at(20)) }));
    expect(byId[jobB]).toEqual(expect.objectContaining({ status: 'running', status_changed_at: new Date(at(5)) }));
    // Every fresh envelope id is recorded, the superseded ones too: a redelivery of any of them is a duplicate.
    await expect(feedback.applyStatus(ids[1], { jobId: jobA, status: 'running', attempts: 1, at: at(10) })).resolves.toBe('duplicate');
  });

  it('400 naming the fields for bad input, 400 for a malformed job id, 404 for an unknown one', async () => {
    const res = await post({ memberId: '', startDate: [2024, 13, 1], endDate: 'soon', callbackUrl: 'ftp://x/cb', activity: { challenges: [{ title: 't' }] } });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.status).toBe('error');
    expect(body.message).toBe('validation failed');
    expect(body.data.errors.map((e: { field: string }) => e.field)).toEqual([
      'memberId',
      'startDate',
      'endDate',
      'activity.challenges[0].category',
      'activity.challenges[0].achieved',
      'activity.challenges[0].total',
      'callbackUrl',
    ]);

    const badKey = await post(request('m'), { 'idempotency-key': ' ' });
    expect(badKey.status).toBe(400);
    expect((await json(badKey)).data.errors).toEqual([{ field: 'Idempotency-Key', reason: 'must not be empty' }]);

    const malformed = await authFetch(`${base}/v1/feedback/not-a-uuid`);
    expect(malformed.status).toBe(400);
    expect((await json(malformed)).data.errors).toEqual([{ field: 'jobId', reason: 'must be a uuid' }]);
    expect((await authFetch(`${base}/v1/feedback/${randomUUID()}`)).status).toBe(404);
  });
});
