'use strict';
// The broker's raw durable ceiling: plain amqplib, publish with confirms (persistent) to a
// quorum queue while a consumer with manual ack (prefetch 200) drains it. Rate = messages /
// (last ack − first publish). The reference the end-to-end job rate is compared against.
const amqplib = require('amqplib');

const RAW_PREFETCH = 200;
/** Publishes in flight at once (unconfirmed): enough to keep the broker's batching busy. */
const RAW_WINDOW = 1000;

async function measureRawCeiling(url, { messages }) {
  const queue = `bench.raw.${process.pid}.${Date.now()}`;
  const pubConn = await amqplib.connect(url);
  const subConn = await amqplib.connect(url);
  const pub = await pubConn.createConfirmChannel();
  const sub = await subConn.createChannel();
  await pub.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await sub.prefetch(RAW_PREFETCH);
  const body = Buffer.from(JSON.stringify({ id: 'x'.repeat(36), type: 'feedback.requested', payload: { text: 'y'.repeat(400) } }));

  let acked = 0;
  let resolveDone;
  const done = new Promise((resolve) => (resolveDone = resolve));
  await sub.consume(
    queue,
    (msg) => {
      sub.ack(msg);
      if (++acked === messages) resolveDone(Date.now());
    },
    { noAck: false },
  );

  const start = Date.now();
  let confirmed = 0;
  let sent = 0;
  await new Promise((resolve, reject) => {
    const pump = () => {
      while (sent < messages && sent - confirmed < RAW_WINDOW) {
        sent += 1;
        pub.sendToQueue(queue, body, { persistent: true }, (err) => {
          if (err) return reject(err);
          confirmed += 1;
          if (confirmed === messages) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  const publishedAt = Date.now();
  const end = await done;
  await sub.close();
  await pub.deleteQueue(queue);
  await pub.close();
  await pubConn.close();
  await subConn.close();
  const seconds = (end - start) / 1000;
  return {
    messages,
    prefetch: RAW_PREFETCH,
    publishWindow: RAW_WINDOW,
    seconds: round(seconds),
    messagesPerSecond: Math.round(messages / seconds),
    publishConfirmedPerSecond: Math.round(messages / ((publishedAt - start) / 1000)),
  };
}

const round = (x) => Math.round(x * 1000) / 1000;

module.exports = { measureRawCeiling, RAW_PREFETCH };
