import type { Channel } from 'amqplib';

/**
 * Hands every JSON message published on the topic exchange `exchange` under `bindingKey` to
 * `onMessage`, through an exclusive auto-delete queue of `channel`'s own: what a service
 * announced, seen from outside. Bind it before the publisher runs, or earlier messages are gone.
 */
export async function collectPublished<T>(channel: Channel, exchange: string, bindingKey: string, onMessage: (message: T) => void): Promise<void> {
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, exchange, bindingKey);
  await channel.consume(
    queue,
    (msg) => {
      if (msg) onMessage(JSON.parse(msg.content.toString('utf8')) as T);
    },
    { noAck: true },
  );
}
