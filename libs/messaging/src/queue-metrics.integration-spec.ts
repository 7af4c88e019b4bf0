import { randomUUID } from 'node:crypto';
import { waitUntil } from '@ragmesh/testing';
import * as amqplib from 'amqplib';
import pino from 'pino';
import { metricsRegistry } from '@ragmesh/observability';
import { Messaging, PermanentError } from './index';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const METRIC = 'ragmesh_messaging_queue_messages';


/** The gauge's value for a queue and kind, as a scrape would read it (undefined when absent). */
async function scraped(queue: string, kind: string): Promise<number | undefined> {
  const metric = await metricsRegistry.getSingleMetric(METRIC)?.get();
  return metric?.values.find((v) => v.labels.queue === queue && v.labels.kind === kind)?.value;
}

describe('queue metrics against RabbitMQ', () => {
  let admin: amqplib.ChannelModel;
  let channel: amqplib.Channel;
  let exchange: string;
  let queue: string;
  let messaging: Messaging;
  let release: () => void;

  beforeEach(async () => {
    admin = await amqplib.connect(AMQP_URL);
    channel = await admin.createChannel();
    const run = randomUUID().slice(0, 8);
    exchange = `test.queue-metrics.${run}`;
    queue = `test.queue-metrics.${run}.q`;
    messaging = new Messaging({ url: AMQP_URL, service: 'queue-metrics-test', exchange, logger: pino({ level: 'silent' }) });
    await messaging.connect();
  });

  afterEach(async () => {
    release?.();
    await messaging.close();
    for (const name of [queue, `${queue}.retry.1`, `${queue}.dlq`]) await channel.deleteQueue(name);
    await channel.deleteExchange(exchange);
    await admin.close();
  });

  it('reports ready messages, dead letters and nothing once the connection closes', async () => {
    const blocked = new Promise<void>((resolve) => (release = resolve));
    await messaging.consume({
      queue,
      types: ['document.deleted'],
      prefetch: 1,
      retry: { delaysMs: [60_000] },
      handle: async (envelope) => {
        if (envelope.payload.documentId === 'poison') throw new PermanentError('bad document');
        await blocked;
      },
    });
    expect(await scraped(queue, 'main')).toBe(0);
    expect(await scraped(queue, 'retry')).toBe(0);
    expect(await scraped(queue, 'dead_letter')).toBe(0);

    await messaging.publish('document.deleted', { documentId: 'poison' });
    await waitUntil('one dead letter', async () => (await scraped(queue, 'dead_letter')) === 1, 10_000, 50);
    // The first holds the only prefetch slot; the other three wait in the queue: that is the lag.
    for (const id of ['a', 'b', 'c', 'd']) await messaging.publish('document.deleted', { documentId: id });
    await waitUntil('three ready messages', async () => (await scraped(queue, 'main')) === 3, 10_000, 50);

    release();
    await waitUntil('the queue to drain', async () => (await scraped(queue, 'main')) === 0, 10_000, 50);
    expect(await scraped(queue, 'dead_letter')).toBe(1);

    await messaging.close();
    expect(await scraped(queue, 'main')).toBeUndefined();
  });
});
