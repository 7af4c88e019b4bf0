import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Envelope, MessagePayload } from '@ragmesh/contracts';
import { DEFAULT_RETRY, Messaging, PermanentError } from '@ragmesh/messaging';
import * as amqplib from 'amqplib';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createGatewayApp } from '../app';
import { loadAppConfig } from '../config';
import { authFetch, TEST_API_KEY } from '../../test/auth';
import { REDACTED } from './dead-letters.use-case';
import { waitFor } from '@ragmesh/testing';

/*
 * The admin dead-letter endpoints against the real RabbitMQ: a stand-in for the feedback worker consumes
 * `feedback-worker.requests` with the worker's retry policy; poison goes to its DLQ with the reason, the
 * gateway lists it and replays it, and the replayed message reaches the consumer again.
 */

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh';
const QUEUE = 'feedback-worker.requests';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type Requested = Envelope<MessagePayload<'feedback.requested'>>;

jest.setTimeout(30_000);

describe('admin dead letters (integration)', () => {
  let app: NestExpressApplication;
  let base: string;
  let worker: Messaging;
  let amqp: amqplib.ChannelModel;
  /** Job ids the stand-in worker refuses (as a permanent failure) while listed here. */
  const refusing = new Set<string>();
  const handled: Requested[] = [];

  const get = async (path: string): Promise<{ status: number; body: Json }> => {
    const res = await authFetch(`${base}${path}`);
    return { status: res.status, body: (await res.json()) as Json };
  };
  const post = async (path: string): Promise<{ status: number; body: Json }> => {
    const res = await authFetch(`${base}${path}`, { method: 'POST' });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const listed = async (messageId: string) => {
    const { body } = await get(`/v1/admin/dead-letters/${QUEUE}?limit=500`);
    return (body.data.deadLetters as Json[]).find((l) => l.messageId === messageId);
  };

  beforeAll(async () => {
    worker = new Messaging({ url: AMQP_URL, service: 'dead-letters-test-worker' });
    await worker.connect();
    await worker.consume({
      queue: QUEUE,
      types: ['feedback.requested'],
      retry: DEFAULT_RETRY,
      handle: async (envelope) => {
        if (refusing.has(envelope.payload.jobId)) throw new PermanentError(`member ${envelope.payload.memberId} is poison`);
        handled.push(envelope);
      },
    });
    amqp = await amqplib.connect(AMQP_URL);
    const config = loadAppConfig({ ...process.env, RAGMESH_BOOTSTRAP_API_KEY: TEST_API_KEY, DATABASE_URL, AMQP_URL, LOG_LEVEL: 'warn', RETRIEVAL_GRPC_URL: '127.0.0.1:1', GENERATION_GRPC_URL: '127.0.0.1:1' });
    app = await createGatewayApp(config);
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await worker?.close();
    await amqp?.close();
    await app?.close();
  });

  it('lists a permanently failed message with its reason (secrets redacted), then replays just that one', async () => {
    const jobId = randomUUID();
    refusing.add(jobId);
    const envelope = await worker.publish('feedback.requested', {
      jobId,
      memberId: 'member-poison',
      callbackUrl: 'https://backend.example/hooks/feedback',
      prompt: 'Write feedback.',
      callbackAuthHeader: 'Bearer do-not-show',
    });

    const letter = await waitFor('the dead letter to be listed', () => listed(envelope.id));
    expect(letter).toMatchObject({
      messageId: envelope.id,
      type: 'feedback.requested',
      routingKey: 'feedback.requested',
      reason: 'permanent error: member member-poison is poison',
      attempt: 1,
      failedAt: expect.any(String),
      body: { id: envelope.id, payload: { jobId, memberId: 'member-poison', callbackAuthHeader: REDACTED } },
    });
    expect(JSON.stringify(letter)).not.toContain('do-not-show');

    // Fixed on the consumer side; the operator replays this one message.
    refusing.delete(jobId);
    const replay = await post(`/v1/admin/dead-letters/${QUEUE}/${envelope.id}/replay`);
    expect(replay).toEqual({ status: 200, body: { status: 'ok', message: `dead letter ${envelope.id} replayed to ${QUEUE}`, data: { queue: QUEUE, messageId: envelope.id, replayed: 1 } } });
    const delivered = await waitFor('the replayed message to be handled', () => handled.find((e) => e.id === envelope.id));
    // The original message, secret included, reaches the consumer again.
    expect(delivered.payload).toMatchObject({ jobId, callbackAuthHeader: 'Bearer do-not-show' });
    expect(await listed(envelope.id)).toBeUndefined();

    const again = await post(`/v1/admin/dead-letters/${QUEUE}/${envelope.id}/replay`);
    expect(again.status).toBe(404);
  });

  it('dead-letters a malformed message at once with the reason, and replays all', async () => {
    const messageId = `poison-${randomUUID()}`;
    const channel = await amqp.createConfirmChannel();
    channel.sendToQueue(QUEUE, Buffer.from('{"not": "an envelope"'), { messageId, persistent: true });
    await channel.waitForConfirms();
    await channel.close();

    const letter = await waitFor('the malformed message to be listed', () => listed(messageId));
    expect(letter.reason).toMatch(/json|JSON/);
    expect(letter.attempt).toBe(1);
    expect(letter.body).toBe('{"not": "an envelope"');

    const replay = await post(`/v1/admin/dead-letters/${QUEUE}/replay?limit=500`);
    expect(replay.status).toBe(200);
    expect(replay.body.data.replayed).toBeGreaterThanOrEqual(1);
    // Still malformed: the consumer sends it straight back, with a fresh failure time.
    const back = await waitFor('the malformed message back in the DLQ', async () => {
      const l = await listed(messageId);
      return l && l.failedAt !== letter.failedAt ? l : undefined;
    });
    expect(back.reason).toBe(letter.reason);
  });

  it('answers 400 naming the field for an unknown queue or a bad limit', async () => {
    const queue = await get('/v1/admin/dead-letters/some.other.queue');
    expect(queue.status).toBe(400);
    expect(queue.body.data.errors).toEqual([{ field: 'queue', reason: 'must be one of feedback-worker.requests, gateway.feedback-status' }]);
    const limit = await get(`/v1/admin/dead-letters/${QUEUE}?limit=0`);
    expect(limit.status).toBe(400);
    expect(limit.body.data.errors).toEqual([{ field: 'limit', reason: 'must be at least 1' }]);
    const queues = await get('/v1/admin/dead-letters');
    expect(queues.body.data).toEqual({ queues: ['feedback-worker.requests', 'gateway.feedback-status'] });
  });
});
