import { randomUUID } from 'node:crypto';
import { waitUntil } from '@ragmesh/testing';
import * as amqplib from 'amqplib';
import pino from 'pino';
import type { Envelope, MessagePayload } from '@ragmesh/contracts';
import { getCorrelationId, metricsRegistry, runWithCorrelationId } from '@ragmesh/observability';
import { InvalidMessageError, Messaging, PermanentError, UnroutableMessageError } from './index';
import type { BatchConsumerSpec, ConsumerSpec } from './index';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const RETRY = { delaysMs: [100, 200] };

type Deleted = MessagePayload<'document.deleted'>;
type DeletedEnvelope = Envelope<Deleted>;


const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Messaging against RabbitMQ', () => {
  let admin: amqplib.ChannelModel;
  let adminChannel: amqplib.Channel;
  let exchange: string;
  let queue: string;
  let messaging: Messaging;

  const queueDepth = async (name: string): Promise<number> => (await adminChannel.checkQueue(name)).messageCount;

  const consumer = (handle: ConsumerSpec<'document.deleted'>['handle']): ConsumerSpec<'document.deleted'> => ({
    queue,
    types: ['document.deleted'],
    retry: RETRY,
    prefetch: 10,
    handle,
  });

  beforeAll(async () => {
    admin = await amqplib.connect(AMQP_URL);
    adminChannel = await admin.createChannel();
  });

  afterAll(async () => {
    await admin.close();
  });

  beforeEach(async () => {
    const run = randomUUID().slice(0, 8);
    // A private exchange per test: nothing else bound to these routing keys can receive or route our messages.
    exchange = `test.messaging.${run}`;
    queue = `test.messaging.${run}.q`;
    messaging = new Messaging({ url: AMQP_URL, service: 'messaging-test', exchange, logger: pino({ level: 'silent' }) });
    await messaging.connect();
  });

  afterEach(async () => {
    await messaging.close();
    for (const name of [queue, `${queue}.retry.1`, `${queue}.retry.2`, `${queue}.dlq`, `${queue}.raw`]) {
      await adminChannel.deleteQueue(name);
    }
    await adminChannel.deleteExchange(exchange);
  });

  it('publishes with confirms; the message is consumed once and acked', async () => {
    const seen: DeletedEnvelope[] = [];
    await messaging.consume(consumer(async (envelope) => void seen.push(envelope)));

    const sent = await messaging.publish('document.deleted', { documentId: 'doc-1' });

    await waitUntil('the handler', () => seen.length === 1, 10_000, 25);
    await sleep(300);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toEqual(sent);
    await messaging.close();
    // Had it not been acked, closing the channel would have put it back on the queue.
    expect(await queueDepth(queue)).toBe(0);
  });

  it('rejects a publish nobody is bound to (basic.return) with a clear error', async () => {
    await expect(messaging.publish('document.deleted', { documentId: 'doc-1' })).rejects.toThrow(UnroutableMessageError);
    await expect(messaging.publish('document.deleted', { documentId: 'doc-2' }, { id: 'fixed-id' })).rejects.toThrow(
      /message fixed-id with routing key "document.deleted" is unroutable \(312 NO_ROUTE\)/,
    );
  });

  it('rejects an invalid payload before sending anything', async () => {
    await adminChannel.assertQueue(`${queue}.raw`, { durable: false });
    await adminChannel.bindQueue(`${queue}.raw`, exchange, 'document.deleted');

    await expect(messaging.publish('document.deleted', { documentId: '' })).rejects.toThrow(InvalidMessageError);
    await expect(messaging.publish('document.deleted', { documentId: '' })).rejects.toThrow(/payload\.documentId/);
    expect(await queueDepth(`${queue}.raw`)).toBe(0);

    // The binding does route: a valid payload arrives.
    await messaging.publish('document.deleted', { documentId: 'doc-1' });
    expect(await queueDepth(`${queue}.raw`)).toBe(1);
  });

  async function countOf(name: string, labels: Record<string, string>): Promise<number> {
    const metric = await metricsRegistry.getSingleMetric(name)?.get();
    const match = metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
    return match?.value ?? 0;
  }

  it('retries a failing handler with growing delays until it succeeds', async () => {
    const attempts: { attempt: number; at: number; id: string }[] = [];
    await messaging.consume(
      consumer(async (envelope, raw) => {
        attempts.push({ attempt: raw.attempt, at: Date.now(), id: envelope.id });
        if (attempts.length < 3) throw new Error(`transient failure ${attempts.length}`);
      }),
    );

    const sent = await messaging.publish('document.deleted', { documentId: 'doc-retry' });

    await waitUntil('three attempts', () => attempts.length === 3, 10_000, 25);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(attempts.every((a) => a.id === sent.id)).toBe(true);
    expect(attempts[1].at - attempts[0].at).toBeGreaterThanOrEqual(90);
    expect(attempts[2].at - attempts[1].at).toBeGreaterThanOrEqual(190);
    await sleep(400);
    expect(attempts).toHaveLength(3);
    expect(await queueDepth(`${queue}.dlq`)).toBe(0);
    expect(await queueDepth(`${queue}.retry.1`)).toBe(0);
    expect(await queueDepth(`${queue}.retry.2`)).toBe(0);
  });

  it('dead-letters a message whose handler always fails, with the reason', async () => {
    let calls = 0;
    await messaging.consume(
      consumer(async () => {
        calls += 1;
        throw new Error('database unavailable');
      }),
    );

    const sent = await messaging.publish('document.deleted', { documentId: 'doc-dead' }, { correlationId: 'corr-dead' });

    await waitUntil('the dead letter', async () => (await queueDepth(`${queue}.dlq`)) === 1, 10_000, 25);
    expect(calls).toBe(3);
    const [letter] = await messaging.listDeadLetters(queue, 10);
    expect(letter).toMatchObject({
      messageId: sent.id,
      type: 'document.deleted',
      routingKey: 'document.deleted',
      correlationId: 'corr-dead',
      reason: 'handler failed after 3 attempts: database unavailable',
      attempt: 3,
    });
    expect(letter.headers['x-death-reason']).toBe('handler failed after 3 attempts: database unavailable');
    expect(Date.parse(letter.failedAt ?? '')).not.toBeNaN();
    expect(JSON.parse(letter.body)).toEqual(sent);
    // Listing is a peek: the letter is still there.
    expect(await queueDepth(`${queue}.dlq`)).toBe(1);
    // Each fate is counted for the dashboards.
    expect(await countOf('ragmesh_messaging_messages_total', { queue, outcome: 'retried' })).toBe(2);
    expect(await countOf('ragmesh_messaging_messages_total', { queue, outcome: 'dead_lettered' })).toBe(1);
    expect(await countOf('ragmesh_messaging_published_total', { type: 'document.deleted' })).toBeGreaterThanOrEqual(1);
  });

  it('dead-letters a PermanentError at once, without retries', async () => {
    let calls = 0;
    await messaging.consume(
      consumer(async () => {
        calls += 1;
        throw new PermanentError('document belongs to nobody');
      }),
    );
    await messaging.publish('document.deleted', { documentId: 'doc-perm' });

    await waitUntil('the dead letter', async () => (await queueDepth(`${queue}.dlq`)) === 1, 10_000, 25);
    expect(calls).toBe(1);
    const [letter] = await messaging.listDeadLetters(queue);
    expect(letter.reason).toBe('permanent error: document belongs to nobody');
  });

  it('sends malformed and invalid raw messages straight to the dead-letter queue with the reason', async () => {
    const handled: DeletedEnvelope[] = [];
    await messaging.consume(consumer(async (envelope) => void handled.push(envelope)));

    adminChannel.publish(exchange, 'document.deleted', Buffer.from('{"this is": not json'), { persistent: true, messageId: 'raw-1' });
    const badPayload = { id: 'raw-2', type: 'document.deleted', version: 1, occurredAt: new Date().toISOString(), payload: { documentId: 42 } };
    adminChannel.publish(exchange, 'document.deleted', Buffer.from(JSON.stringify(badPayload)), { messageId: 'raw-2' });
    const noEnvelope = { hello: 'world' };
    adminChannel.publish(exchange, 'document.deleted', Buffer.from(JSON.stringify(noEnvelope)), { messageId: 'raw-3' });

    await waitUntil('three dead letters', async () => (await queueDepth(`${queue}.dlq`)) === 3, 10_000, 25);
    const letters = await messaging.listDeadLetters(queue);
    const reasons = Object.fromEntries(letters.map((l) => [l.messageId, l.reason]));
    expect(reasons['raw-1']).toMatch(/^malformed JSON: /);
    expect(reasons['raw-2']).toMatch(/^invalid document.deleted payload: payload\.documentId: Expected string, received number/);
    expect(reasons['raw-3']).toMatch(/^invalid envelope: id: Required/);
    expect(letters.find((l) => l.messageId === 'raw-1')?.body).toBe('{"this is": not json');
    expect(handled).toHaveLength(0);
    expect(await queueDepth(queue)).toBe(0);
  });

  describe('batch consumers', () => {
    const batchConsumer = (
      handleBatch: BatchConsumerSpec<'document.deleted'>['handleBatch'],
      handle: BatchConsumerSpec<'document.deleted'>['handle'],
    ): BatchConsumerSpec<'document.deleted'> => ({ queue, types: ['document.deleted'], retry: RETRY, maxBatch: 8, handleBatch, handle });

    it('handles the messages that wait together as one batch, in order, once each, and acks them all', async () => {
      const batches: string[][] = [];
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      await messaging.consumeBatches(
        batchConsumer(
          async (envelopes) => {
            batches.push(envelopes.map((e) => e.payload.documentId));
            // The first batch holds the line while the rest of the messages arrive.
            if (batches.length === 1) await gate;
          },
          async () => {
            throw new Error('no message should be handled alone');
          },
        ),
      );

      await messaging.publish('document.deleted', { documentId: 'doc-0' });
      await waitUntil('the first batch', () => batches.length === 1, 10_000, 25);
      for (let i = 1; i <= 20; i++) await messaging.publish('document.deleted', { documentId: `doc-${i}` });
      // Time for the prefetch (2 × 8) to bring 15 of them to the consumer while the first batch runs.
      await sleep(300);
      release();

      await waitUntil('every message', () => batches.flat().length === 21, 10_000, 25);
      expect(batches.flat()).toEqual(Array.from({ length: 21 }, (_, i) => `doc-${i}`));
      const sizes = batches.slice(1).map((b) => b.length);
      expect(sizes[0]).toBe(8);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(8);
      await messaging.close();
      expect(await queueDepth(queue)).toBe(0);
    });

    it('handles the messages of a failed batch one by one: only the one that fails again is retried and dead-lettered', async () => {
      const alone: string[] = [];
      let batchCalls = 0;
      await messaging.consumeBatches(
        batchConsumer(
          async () => {
            batchCalls += 1;
            throw new Error('one bad row fails the statement');
          },
          async (envelope) => {
            alone.push(envelope.payload.documentId);
            if (envelope.payload.documentId === 'bad') throw new PermanentError('bad row');
          },
        ),
      );
      // A malformed message among them goes to the dead letters on its own, and the acks of the others must not cover it too early.
      adminChannel.publish(exchange, 'document.deleted', Buffer.from('not json'), { persistent: true, messageId: 'raw-1' });
      await Promise.all(['a', 'bad', 'b'].map((documentId) => messaging.publish('document.deleted', { documentId })));

      await waitUntil('two dead letters', async () => (await queueDepth(`${queue}.dlq`)) === 2, 10_000, 25);
      await waitUntil('each message handled alone', () => alone.length === 3, 10_000, 25);
      expect(batchCalls).toBeGreaterThanOrEqual(1);
      expect([...alone].sort()).toEqual(['a', 'b', 'bad']);
      const reasons = (await messaging.listDeadLetters(queue)).map((l) => l.reason ?? '');
      expect(reasons.some((r) => r.startsWith('malformed JSON'))).toBe(true);
      expect(reasons.some((r) => r.includes('bad row'))).toBe(true);
      await messaging.close();
      expect(await queueDepth(queue)).toBe(0);
    });
  });

  it('replays dead letters back to the queue, where they are processed', async () => {
    let broken = true;
    const processed: DeletedEnvelope[] = [];
    const attempts: number[] = [];
    await messaging.consume(
      consumer(async (envelope, raw) => {
        if (broken) throw new PermanentError('bug in handler');
        attempts.push(raw.attempt);
        processed.push(envelope);
      }),
    );
    const first = await messaging.publish('document.deleted', { documentId: 'doc-a' });
    const second = await messaging.publish('document.deleted', { documentId: 'doc-b' });
    await waitUntil('two dead letters', async () => (await queueDepth(`${queue}.dlq`)) === 2, 10_000, 25);
    expect((await messaging.listDeadLetters(queue, 1)).length).toBe(1);

    broken = false; // the bug is fixed; the operator replays
    expect(await messaging.replayDeadLetters(queue, 10)).toBe(2);

    await waitUntil('replayed messages to be processed', () => processed.length === 2, 10_000, 25);
    expect(processed.map((e) => e.id).sort()).toEqual([first.id, second.id].sort());
    expect(attempts).toEqual([1, 1]);
    expect(await queueDepth(`${queue}.dlq`)).toBe(0);
    expect(await messaging.replayDeadLetters(queue, 10)).toBe(0);
  });

  it('carries the correlation id from the publisher into the handler', async () => {
    const seen: { inContext?: string; inEnvelope?: string }[] = [];
    await messaging.consume(consumer(async (envelope) => void seen.push({ inContext: getCorrelationId(), inEnvelope: envelope.correlationId })));

    await runWithCorrelationId('req-1234', () => messaging.publish('document.deleted', { documentId: 'doc-c' }));
    await messaging.publish('document.deleted', { documentId: 'doc-d' }, { correlationId: 'explicit-5678' });

    await waitUntil('two deliveries', () => seen.length === 2, 10_000, 25);
    expect(seen).toContainEqual({ inContext: 'req-1234', inEnvelope: 'req-1234' });
    expect(seen).toContainEqual({ inContext: 'explicit-5678', inEnvelope: 'explicit-5678' });
  });

  it('refuses a consumer for a type outside the catalogue', async () => {
    await expect(
      messaging.consume({ queue, types: ['no.such.type' as 'document.deleted'], handle: async () => undefined }),
    ).rejects.toThrow('"no.such.type" is not in the message catalogue');
  });

  it('reports health, and close() lets a running handler finish and ack first', async () => {
    await expect(messaging.healthCheck()()).resolves.toBeUndefined();
    let started = false;
    let finished = false;
    await messaging.consume(
      consumer(async () => {
        started = true;
        await sleep(500);
        finished = true;
      }),
    );
    await messaging.publish('document.deleted', { documentId: 'doc-slow' });
    await waitUntil('the handler to start', () => started, 10_000, 25);

    await messaging.close();

    expect(finished).toBe(true);
    expect(await queueDepth(queue)).toBe(0);
    await expect(messaging.healthCheck()()).rejects.toThrow('rabbitmq: not connected');
    await expect(messaging.publish('document.deleted', { documentId: 'late' })).rejects.toThrow(/closing/);
  });
});
