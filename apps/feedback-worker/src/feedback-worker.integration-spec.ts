import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { type Envelope, EVENTS_EXCHANGE, type MessagePayload, PROTO_LOADER_OPTIONS, protoPath } from '@ragmesh/contracts';
import { DEATH_REASON_HEADER, Messaging } from '@ragmesh/messaging';
import amqplib, { type ChannelModel, type GetMessage } from 'amqplib';
import { Client } from 'pg';
import { startFeedbackWorker, type RunningFeedbackWorker } from './bootstrap';
import { loadAppConfig } from './config';
import { Webhook } from 'standardwebhooks';
import { statusEventId } from './feedback/job-events';
import { collectPublished, waitFor as pollFor } from '@ragmesh/testing';

type StatusEnvelope = Envelope<MessagePayload<'feedback.status.changed'>>;

jest.setTimeout(60_000);

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh';
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const SECRET = `whsec_${Buffer.alloc(32, 42).toString('base64')}`;
const FEEDBACK_TEXT = 'You trained three times this week; keep the rhythm.';
const DLQ = 'feedback-worker.requests.dlq';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The worker's round trips are slower than the shared default allows: 20 s. */
const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> => pollFor(what, probe, timeoutMs);

async function startFakeGenerationProxy(): Promise<{ server: grpc.Server; port: number }> {
  const definition = loadSync(protoPath('generation'), PROTO_LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { ragmesh: { v1: { GenerationService: { service: grpc.ServiceDefinition } } } };
  const unimplemented = (_call: unknown, callback: grpc.sendUnaryData<unknown>): void =>
    callback({ code: grpc.status.UNIMPLEMENTED, details: 'not in this fake' });
  const server = new grpc.Server();
  server.addService(pkg.ragmesh.v1.GenerationService.service, {
    Generate: (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, { model: 'fake-llm', text: FEEDBACK_TEXT, finishReason: 'stop', upstream: 'fake' }),
    GenerateStream: (call: grpc.ServerWritableStream<unknown, unknown>) => call.emit('error', { code: grpc.status.UNIMPLEMENTED }),
    Summarize: unimplemented,
    ListModels: unimplemented,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}

/** Takes our dead letter out of the shared DLQ (so reruns do not pile up) and puts every other one back. */
async function takeDeadLetter(connection: ChannelModel, messageId: string): Promise<GetMessage | undefined> {
  const channel = await connection.createChannel();
  const others: GetMessage[] = [];
  try {
    for (;;) {
      const message = await channel.get(DLQ, { noAck: false });
      if (message === false) return undefined;
      if (message.properties.messageId === messageId) {
        channel.ack(message);
        return message;
      }
      others.push(message);
    }
  } finally {
    for (const m of others) channel.nack(m, false, true);
    await channel.close();
  }
}

describe('feedback-worker (PostgreSQL + RabbitMQ + gRPC + HTTP callback)', () => {
  const received: Received[] = [];
  let proxy: grpc.Server;
  let callbackServer: Server;
  let callbackBase: string;
  let worker: RunningFeedbackWorker;
  let publisher: Messaging;
  let amqp: ChannelModel;
  let pg: Client;

  beforeAll(async () => {
    const fake = await startFakeGenerationProxy();
    proxy = fake.server;
    callbackServer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(req.url?.startsWith('/reject') ? 400 : 200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', resolve));
    callbackBase = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}`;

    const config = loadAppConfig({
      DATABASE_URL,
      AMQP_URL,
      OPS_PORT: '0',
      GENERATION_GRPC_URL: `127.0.0.1:${fake.port}`,
      FEEDBACK_SIGNING_SECRET: SECRET,
      // The receiver below listens on loopback, which callbacks may not reach by default.
      OUTBOUND_ALLOWLIST: '127.0.0.0/8',
      FEEDBACK_STATUS_RELAY_INTERVAL_MS: '200',
      LOG_LEVEL: 'warn',
    });
    worker = await startFeedbackWorker(config);
    publisher = new Messaging({ url: AMQP_URL, service: 'feedback-worker-integration-test' });
    await publisher.connect();
    amqp = await amqplib.connect(AMQP_URL);
    pg = new Client({ connectionString: DATABASE_URL });
    await pg.connect();
  });

  afterAll(async () => {
    await publisher?.close();
    await worker?.close();
    await amqp?.close();
    await pg?.end();
    proxy?.forceShutdown();
    await new Promise<void>((resolve) => (callbackServer ? callbackServer.close(() => resolve()) : resolve()));
  });

  const job = async (id: string) => {
    const { rows } = await pg.query<{ status: string; attempts: number; content: string | null; last_error: string | null; member_id: string }>(
      'SELECT status, attempts, content, last_error, member_id FROM feedback.jobs WHERE id = $1',
      [id],
    );
    return rows[0];
  };
  const callbacksFor = (jobId: string): Received[] => received.filter((r) => r.path.includes(jobId));

  it('generates, calls back once with a valid signature, and records the job as succeeded', async () => {
    // A temporary queue sees the status events the gateway would consume.
    const statuses: MessagePayload<'feedback.status.changed'>[] = [];
    await collectPublished<StatusEnvelope>(await amqp.createChannel(), EVENTS_EXCHANGE, 'feedback.status.changed', (m) => statuses.push(m.payload));

    const jobId = randomUUID();
    const envelope = await publisher.publish('feedback.requested', {
      jobId,
      memberId: 'member-7',
      callbackUrl: `${callbackBase}/ok/${jobId}`,
      prompt: 'Write feedback for a member who trained three times.',
      callbackAuthHeader: 'Bearer product-token',
    });

    const done = await waitFor('the job to succeed', async () => {
      const row = await job(jobId);
      return row?.status === 'succeeded' ? row : undefined;
    });
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, content: FEEDBACK_TEXT, member_id: 'member-7', last_error: null });

    const [callback] = callbacksFor(jobId);
    expect(JSON.parse(callback.body)).toEqual({ memberId: 'member-7', content: FEEDBACK_TEXT, jobId });
    expect(callback.headers.authorization).toBe('Bearer product-token');
    // The job ended well within FEEDBACK_RUNNING_EVENT_DELAY_MS (1 s): its outcome is the only status announced.
    const seen = await waitFor('status events', async () => (statuses.some((s) => s.jobId === jobId) ? statuses.filter((s) => s.jobId === jobId) : undefined));
    expect(seen.map((s) => `${s.status}:${s.attempts}`)).toEqual(['succeeded:1']);
    expect(callback.headers['webhook-id']).toBe(jobId);
    expect(new Webhook(SECRET).verify(callback.body, callback.headers as Record<string, string>)).toEqual({ memberId: 'member-7', content: FEEDBACK_TEXT, jobId });

    // The same command again (a redelivery, or a re-sent publish): never delivered twice.
    await publisher.publish('feedback.requested', envelope.payload, { id: envelope.id });
    await publisher.publish('feedback.requested', envelope.payload);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(callbacksFor(jobId)).toHaveLength(1);
    // Past the delay: the superseded `running` was dropped, not sent late.
    expect(statuses.filter((s) => s.jobId === jobId).map((s) => s.status)).toEqual(['succeeded']);
    expect((await job(jobId)).status).toBe('succeeded');
    const { rows } = await pg.query('SELECT 1 FROM feedback.processed_messages WHERE id = $1', [envelope.id]);
    expect(rows).toHaveLength(1);
  });

  it('marks the job dead and dead-letters the message when the callback answers 400', async () => {
    const jobId = randomUUID();
    const envelope = await publisher.publish('feedback.requested', {
      jobId,
      memberId: 'member-8',
      callbackUrl: `${callbackBase}/reject/${jobId}`,
      prompt: 'Write feedback.',
    });

    const dead = await waitFor('the job to be dead', async () => {
      const row = await job(jobId);
      return row?.status === 'dead' ? row : undefined;
    });
    expect(dead.last_error).toBe('callback refused with HTTP 400');
    expect(callbacksFor(jobId)).toHaveLength(1);

    const letter = await waitFor('the dead letter', () => takeDeadLetter(amqp, envelope.id));
    expect(String(letter.properties.headers?.[DEATH_REASON_HEADER])).toContain('callback refused with HTTP 400');
    expect(JSON.parse(letter.content.toString('utf8'))).toMatchObject({ id: envelope.id, payload: { jobId } });
  });

  it('counts status transitions in ragmesh_feedback_jobs_total', async () => {
    const text = await (await fetch(`http://127.0.0.1:${worker.opsPort}/metrics`)).text();
    for (const status of ['queued', 'running', 'succeeded', 'dead']) {
      expect(text).toMatch(new RegExp(`^ragmesh_feedback_jobs_total\\{[^}]*status="${status}"[^}]*\\} [1-9]`, 'm'));
    }
  });

  it('refuses a callback target in a non-allow-listed range: dead at once, dead-lettered with the reason', async () => {
    const jobId = randomUUID();
    const envelope = await publisher.publish('feedback.requested', {
      jobId,
      memberId: 'member-9',
      callbackUrl: `http://169.254.169.254/latest/${jobId}`,
      prompt: 'Write feedback.',
    });
    const dead = await waitFor('the job to be dead', async () => {
      const row = await job(jobId);
      return row?.status === 'dead' ? row : undefined;
    });
    expect(dead).toMatchObject({ attempts: 1, last_error: expect.stringContaining('linkLocal') });
    const letter = await waitFor('the dead letter', () => takeDeadLetter(amqp, envelope.id));
    expect(String(letter.properties.headers?.[DEATH_REASON_HEADER])).toContain('169.254.169.254 is in a linkLocal range');
  });

  it('re-publishes a transition whose status event was never confirmed (the row is the outbox)', async () => {
    const seen: StatusEnvelope[] = [];
    const statusChannel = await amqp.createChannel();
    await collectPublished<StatusEnvelope>(statusChannel, EVENTS_EXCHANGE, 'feedback.status.changed', (m) => seen.push(m));

    // As if the worker had crashed between committing `succeeded` and the broker's confirm.
    const jobId = randomUUID();
    const { rows } = await pg.query<{ at: Date }>(
      `INSERT INTO feedback.jobs (id, member_id, callback_url, status, attempts, status_changed_at, status_published_at)
       VALUES ($1, 'member-r', 'http://127.0.0.1/cb', 'succeeded', 2, date_trunc('milliseconds', now()) - interval '5 seconds', NULL)
       RETURNING status_changed_at AS at`,
      [jobId],
    );
    const event = await waitFor('the relayed status event', async () => seen.find((e) => e.payload.jobId === jobId));
    expect(event.payload).toEqual({ jobId, status: 'succeeded', attempts: 2, at: rows[0].at.toISOString() });
    expect(event.id).toBe(statusEventId({ jobId, status: 'succeeded', attempts: 2, at: rows[0].at }));
    const published = await waitFor('the row marked published', async () => {
      const r = await pg.query<{ published: boolean }>(`SELECT status_published_at = status_changed_at AS published FROM feedback.jobs WHERE id = $1`, [jobId]);
      return r.rows[0]?.published ? true : undefined;
    });
    expect(published).toBe(true);
    await statusChannel.close();
  });
});
