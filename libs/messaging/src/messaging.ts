import { randomUUID } from 'node:crypto';
import amqp from 'amqp-connection-manager';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage, GetMessage, Message, Options } from 'amqplib';
import pino, { type Logger } from 'pino';
import { EVENTS_EXCHANGE, isMessageType } from '@ragmesh/contracts';
import type { Envelope, MessagePayload, MessageType } from '@ragmesh/contracts';
import { CORRELATION_HEADER, getCorrelationId, getOrCreateCounter, metricsRegistry, runWithCorrelationId } from '@ragmesh/observability';
import type { HealthCheck } from '@ragmesh/observability';
import { ConfirmedSender, forwardOptions } from './confirmed-send';
import { queueMetrics, type QueueStat } from './queue-metrics';
import { buildEnvelope, decodeEnvelope } from './envelope';
import { PublishNackedError, PublishTimeoutError, UnroutableMessageError, errorMessage } from './errors';
import {
  DEATH_REASON_HEADER,
  DEFAULT_PREFETCH,
  DEFAULT_RETRY,
  FAILED_AT_HEADER,
  ORIGINAL_ROUTING_KEY_HEADER,
  type Headers,
  type RetryPolicy,
  attemptFromHeaders,
  deadLetterHeaders,
  deadLetterQueueName,
  decideOnFailure,
  replayHeaders,
  retryHeaders,
  retryQueueName,
  validateRetryPolicy,
} from './policy';

export interface MessagingOptions {
  url: string;
  service: string;
  exchange?: string;
  logger?: Logger;
  /** Seconds between reconnect attempts after the broker goes away. */
  reconnectDelaySeconds?: number;
  /**
   * Default bound on publish(): past it, a publish not yet confirmed rejects with
   * PublishTimeoutError. Unset: publish() waits (and re-sends) until the broker confirms.
   */
  publishDeadlineMs?: number;
}

export interface PublishOptions {
  id?: string;
  correlationId?: string;
  /** Overrides MessagingOptions.publishDeadlineMs for this publish. */
  deadlineMs?: number;
}

export interface ConsumerSpec<T extends MessageType> {
  queue: string;
  types: T[];
  handle(envelope: Envelope<MessagePayload<T>>, raw: { redelivered: boolean; attempt: number }): Promise<void>;
  prefetch?: number;
  retry?: RetryPolicy;
}

/**
 * A consumer that applies the messages waiting at a moment together (say, one SQL statement for
 * all of them) and acks them with one frame. A batch is cut as soon as the previous one is done,
 * so under low load a batch is one message and no delay is added; under load batches grow.
 */
export interface BatchConsumerSpec<T extends MessageType> extends ConsumerSpec<T> {
  /**
   * Handles the batch, in delivery order. When it rejects, each message of the batch goes through
   * `handle` alone (retries and dead letters stay per message), so it must be all-or-nothing or
   * idempotent per message.
   */
  handleBatch(envelopes: Envelope<MessagePayload<T>>[]): Promise<void>;
  /** Most messages per batch (DEFAULT_MAX_BATCH); the prefetch defaults to twice this, so the next batch fills while one runs. */
  maxBatch?: number;
}

export interface DeadLetter {
  messageId?: string;
  type?: string;
  routingKey: string;
  correlationId?: string;
  reason?: string;
  failedAt?: string;
  attempt: number;
  headers: Headers;
  /** The raw body as text: a dead letter may be malformed, so it is not assumed to be an envelope. */
  body: string;
}

export const HEARTBEAT_SECONDS = 5;
export const RECONNECT_DELAY_SECONDS = 2;
/** A publish not confirmed within this time is sent again (same id; consumers are idempotent). */
export const PUBLISH_ATTEMPT_TIMEOUT_MS = 30_000;
/** close() waits this long for running handlers and unconfirmed publishes before tearing down. */
export const CLOSE_DRAIN_TIMEOUT_MS = 10_000;
export const DEFAULT_DEAD_LETTER_LIMIT = 100;
export const DEFAULT_MAX_BATCH = 100;

const QUORUM = { 'x-queue-type': 'quorum' } as const;

interface ActiveConsumer {
  queue: string;
  wrapper?: ChannelWrapper;
  channel?: ConfirmChannel;
  consumerTag?: string;
}

/** A delivered message waiting in a batch; `settled` resolves once it is acked or moved. */
interface BatchItem<T extends MessageType> {
  message: ConsumeMessage;
  envelope: Envelope<MessagePayload<T>>;
  settled: Deferred;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Only the first outcome matters; later setups (after reconnects) report through the logger.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

// Errors after which the message is still ours to send again: the channel or connection went
// away before the broker answered, or the answer did not come in time.
function isTransientPublishError(error: unknown): boolean {
  const message = errorMessage(error).toLowerCase();
  return message.includes('channel closed') || message.includes('connection closed') || message === 'timeout';
}

// Every message's fate is a counter: operators see retries and dead letters grow before users do.
const consumedTotal = getOrCreateCounter(
  metricsRegistry,
  'ragmesh_messaging_messages_total',
  'Consumed messages by queue and outcome (acked, retried, dead_lettered, requeued)',
  ['queue', 'outcome'],
);
const publishedTotal = getOrCreateCounter(metricsRegistry, 'ragmesh_messaging_published_total', 'Publishes confirmed by the broker, by message type', ['type']);

export class Messaging {
  private readonly exchange: string;
  private readonly log: Logger;
  private manager?: AmqpConnectionManager;
  private publisher?: ChannelWrapper;
  private publisherChannel?: ConfirmChannel;
  /** messageId → broker reply, filled by basic.return on the publisher channel. */
  private readonly returned = new Map<string, string>();
  private readonly consumers: ActiveConsumer[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private closing = false;
  private closed?: Promise<void>;

  constructor(private readonly opts: MessagingOptions) {
    this.exchange = opts.exchange ?? EVENTS_EXCHANGE;
    this.log = (opts.logger ?? pino({ level: 'warn', base: { service: opts.service } })).child({ component: 'messaging' });
  }

  async connect(): Promise<void> {
    if (this.manager) throw new Error('messaging: connect() was already called');
    const reconnect = this.opts.reconnectDelaySeconds ?? RECONNECT_DELAY_SECONDS;
    const manager = amqp.connect([this.opts.url], { heartbeatIntervalInSeconds: HEARTBEAT_SECONDS, reconnectTimeInSeconds: reconnect });
    this.manager = manager;
    manager.on('connect', () => this.log.info('rabbitmq connected'));
    manager.on('disconnect', ({ err }) => this.log.warn({ err: errorMessage(err) }, 'rabbitmq disconnected; reconnecting'));
    manager.on('connectFailed', ({ err }) => this.log.warn({ err: errorMessage(err) }, 'rabbitmq connect failed; retrying'));
    await manager.connect();

    const firstSetup = deferred();
    const publisher = manager.createChannel({
      name: `${this.opts.service}.publisher`,
      confirm: true,
      setup: async (channel: ConfirmChannel) => {
        try {
          await this.setupPublisher(channel);
          firstSetup.resolve();
        } catch (error) {
          firstSetup.reject(error);
          throw error;
        }
      },
    });
    publisher.on('error', (err: unknown) => this.log.error({ err: errorMessage(err) }, 'publisher channel error'));
    this.publisher = publisher;
    try {
      await firstSetup.promise;
    } catch (error) {
      throw new Error(`messaging: cannot declare exchange "${this.exchange}": ${errorMessage(error)}`);
    }
  }

  async publish<T extends MessageType>(
    type: T,
    payload: MessagePayload<T>,
    opts: PublishOptions = {},
  ): Promise<Envelope<MessagePayload<T>>> {
    const envelope = buildEnvelope(type, payload, {
      id: opts.id,
      correlationId: opts.correlationId ?? getCorrelationId() ?? randomUUID(),
    });
    const publisher = this.publisher;
    if (!publisher || this.closing) throw new Error('messaging: not connected (call connect() first) or closing');
    const options: Options.Publish = {
      persistent: true,
      mandatory: true,
      messageId: envelope.id,
      type,
      contentType: 'application/json',
      appId: this.opts.service,
      timestamp: Math.floor(Date.now() / 1000),
      headers: { [CORRELATION_HEADER]: envelope.correlationId },
    };
    const deadlineMs = opts.deadlineMs ?? this.opts.publishDeadlineMs;
    const deadline = deadlineMs === undefined ? undefined : Date.now() + deadlineMs;
    await this.track(this.publishConfirmed(publisher, type, Buffer.from(JSON.stringify(envelope)), options, envelope.id, deadline));
    publishedTotal.inc({ type });
    return envelope;
  }

  consume<T extends MessageType>(spec: ConsumerSpec<T>): Promise<void> {
    return this.startConsumer(spec, spec.prefetch ?? DEFAULT_PREFETCH);
  }

  /** Like consume(), but messages that arrive together are handled and acked together (BatchConsumerSpec). */
  consumeBatches<T extends MessageType>(spec: BatchConsumerSpec<T>): Promise<void> {
    const maxBatch = spec.maxBatch ?? DEFAULT_MAX_BATCH;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) return Promise.reject(new Error(`consumer ${spec.queue}: maxBatch must be a positive integer`));
    return this.startConsumer({ ...spec, maxBatch }, spec.prefetch ?? 2 * maxBatch);
  }

  private async startConsumer<T extends MessageType>(spec: ConsumerSpec<T> | BatchConsumerSpec<T>, prefetch: number): Promise<void> {
    const manager = this.manager;
    if (!manager || this.closing) throw new Error('messaging: not connected (call connect() first) or closing');
    const policy = spec.retry ?? DEFAULT_RETRY;
    if (!spec.queue) throw new Error('consumer: queue must not be empty');
    if (spec.types.length === 0) throw new Error(`consumer ${spec.queue}: types must list at least one message type`);
    for (const type of spec.types) {
      if (!isMessageType(type)) throw new Error(`consumer ${spec.queue}: "${String(type)}" is not in the message catalogue`);
    }
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new Error(`consumer ${spec.queue}: prefetch must be a positive integer`);
    validateRetryPolicy(policy);

    const state: ActiveConsumer = { queue: spec.queue };
    const firstSetup = deferred();
    const wrapper = manager.createChannel({
      name: `${this.opts.service}.consumer.${spec.queue}`,
      confirm: true,
      setup: async (channel: ConfirmChannel) => {
        try {
          await this.setupConsumer(channel, spec, policy, prefetch, state);
          firstSetup.resolve();
        } catch (error) {
          firstSetup.reject(error);
          throw error;
        }
      },
    });
    wrapper.on('error', (err: unknown) => this.log.error({ err: errorMessage(err), queue: spec.queue }, 'consumer channel setup failed'));
    state.wrapper = wrapper;
    this.consumers.push(state);
    try {
      await firstSetup.promise;
    } catch (error) {
      this.consumers.splice(this.consumers.indexOf(state), 1);
      await wrapper.close().catch(() => undefined);
      throw new Error(`consumer ${spec.queue}: cannot set up: ${errorMessage(error)}`);
    }
    queueMetrics.watch(spec.queue, policy.delaysMs.length, this.inspectQueues);
  }

  /** Ready messages and consumers of each queue that exists (passive declare); for queue metrics. */
  readonly inspectQueues = async (queues: string[]): Promise<Map<string, QueueStat>> => {
    const stats = new Map<string, QueueStat>();
    let rest = queues;
    while (rest.length > 0) {
      const pending = rest;
      rest = await this.withTemporaryChannel(async (channel) => {
        for (const [i, queue] of pending.entries()) {
          try {
            const { messageCount, consumerCount } = await channel.checkQueue(queue);
            stats.set(queue, { messages: messageCount, consumers: consumerCount });
          } catch {
            // A missing queue closes the channel (404): go on with the others on a fresh one.
            return pending.slice(i + 1);
          }
        }
        return [];
      });
    }
    return stats;
  };

  healthCheck(): HealthCheck {
    return async () => {
      if (!this.manager?.isConnected()) throw new Error('rabbitmq: not connected');
      if (!this.publisherChannel) throw new Error('rabbitmq: publisher channel is not open');
      const down = this.consumers.filter((c) => !c.channel).map((c) => c.queue);
      if (down.length > 0) throw new Error(`rabbitmq: no consumer channel for ${down.join(', ')}`);
    };
  }

  /** Reads up to `limit` dead letters of `queue` without removing them. */
  async listDeadLetters(queue: string, limit: number = DEFAULT_DEAD_LETTER_LIMIT): Promise<DeadLetter[]> {
    const dlq = deadLetterQueueName(queue);
    return this.withTemporaryChannel(async (channel) => {
      await this.checkQueue(channel, dlq);
      const messages: GetMessage[] = [];
      try {
        while (messages.length < limit) {
          const message = await channel.get(dlq, { noAck: false });
          if (message === false) break;
          messages.push(message);
        }
        return messages.map(toDeadLetter);
      } finally {
        const last = messages.at(-1);
        // Holding every message unacked until the end keeps get() from returning one twice.
        if (last) channel.nack(last, true, true);
      }
    });
  }

  /** Moves up to `limit` dead letters of `queue` back to it, each with a fresh attempt count; returns how many moved. */
  async replayDeadLetters(queue: string, limit: number = DEFAULT_DEAD_LETTER_LIMIT): Promise<number> {
    const dlq = deadLetterQueueName(queue);
    return this.withTemporaryChannel(async (channel) => {
      const present = await this.checkQueue(channel, dlq);
      await this.checkQueue(channel, queue);
      const sender = new ConfirmedSender(channel);
      // Only what was there at the start: a message that fails at once comes straight back, and would loop.
      const bound = Math.min(limit, present);
      let moved = 0;
      while (moved < bound) {
        const message = await channel.get(dlq, { noAck: false });
        if (message === false) break;
        try {
          await sender.sendToQueue(queue, message.content, forwardOptions(message.properties, replayHeaders(message.properties.headers)));
        } catch (error) {
          channel.nack(message, false, true);
          throw new Error(`replay of ${dlq} stopped after ${moved}: ${errorMessage(error)}`);
        }
        channel.ack(message);
        moved += 1;
      }
      this.log.info({ queue, moved }, 'dead letters replayed');
      return moved;
    });
  }

  /**
   * Moves the one dead letter of `queue` whose message id is `messageId` back to it (fresh attempt
   * count); false when none of the first `scanLimit` dead letters has that id.
   */
  async replayDeadLetter(queue: string, messageId: string, scanLimit: number = DEFAULT_DEAD_LETTER_LIMIT * 10): Promise<boolean> {
    const dlq = deadLetterQueueName(queue);
    return this.withTemporaryChannel(async (channel) => {
      await this.checkQueue(channel, dlq);
      await this.checkQueue(channel, queue);
      const held: GetMessage[] = [];
      try {
        while (held.length < scanLimit) {
          const message = await channel.get(dlq, { noAck: false });
          if (message === false) return false;
          // Others stay unacked until the end, so get() never returns one twice.
          if (message.properties.messageId !== messageId) {
            held.push(message);
            continue;
          }
          try {
            await new ConfirmedSender(channel).sendToQueue(queue, message.content, forwardOptions(message.properties, replayHeaders(message.properties.headers)));
          } catch (error) {
            channel.nack(message, false, true);
            throw new Error(`replay of ${messageId} from ${dlq} failed: ${errorMessage(error)}`);
          }
          channel.ack(message);
          this.log.info({ queue, messageId }, 'dead letter replayed');
          return true;
        }
        return false;
      } finally {
        for (const message of held) channel.nack(message, false, true);
      }
    });
  }

  /** Stops consuming, waits for running handlers and unconfirmed publishes, then closes the connection. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    queueMetrics.forget(this.inspectQueues);
    await Promise.all(
      this.consumers.map(async (consumer) => {
        if (consumer.channel && consumer.consumerTag) {
          await consumer.channel.cancel(consumer.consumerTag).catch(() => undefined);
        }
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inflight]),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.log.warn({ pending: this.inflight.size }, 'close: drain timed out');
          resolve();
        }, CLOSE_DRAIN_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    await this.manager?.close();
  }

  private track<R>(work: Promise<R>): Promise<R> {
    this.inflight.add(work);
    const forget = (): void => {
      this.inflight.delete(work);
    };
    work.then(forget, forget);
    return work;
  }

  private async setupPublisher(channel: ConfirmChannel): Promise<void> {
    const watch = this.watchChannel(channel, 'publisher', () => {
      if (this.publisherChannel === channel) this.publisherChannel = undefined;
    });
    channel.on('return', (message: Message) => {
      const id: unknown = message.properties.messageId;
      // basic.return carries replyCode/replyText, which amqplib's Message type does not declare.
      const fields = message.fields as Message['fields'] & { replyCode?: number; replyText?: string };
      if (typeof id === 'string') this.returned.set(id, `${fields.replyCode ?? 312} ${fields.replyText ?? 'NO_ROUTE'}`);
    });
    await channel.assertExchange(this.exchange, 'topic', { durable: true });
    this.publisherChannel = channel;
    watch.markReady();
  }

  private async publishConfirmed(
    publisher: ChannelWrapper,
    routingKey: string,
    body: Buffer,
    options: Options.Publish,
    id: string,
    deadline: number | undefined,
  ): Promise<void> {
    for (;;) {
      const remaining = deadline === undefined ? PUBLISH_ATTEMPT_TIMEOUT_MS : Math.min(PUBLISH_ATTEMPT_TIMEOUT_MS, deadline - Date.now());
      // The wrapper drops a message still queued for a channel when its timeout fires.
      if (remaining <= 0) throw new PublishTimeoutError(`message ${id} (${routingKey}) not confirmed before the publish deadline; the broker may be down`);
      try {
        await publisher.publish(this.exchange, routingKey, body, { ...options, timeout: remaining });
      } catch (error) {
        this.returned.delete(id);
        if (!this.closing && isTransientPublishError(error)) {
          this.log.warn({ messageId: id, err: errorMessage(error) }, 'publish not confirmed; sending again');
          continue;
        }
        if (errorMessage(error) === 'message nacked') throw new PublishNackedError(`broker nacked message ${id} (${routingKey})`);
        throw error;
      }
      // basic.return precedes the confirm on the same channel, so a return for this id is already recorded.
      const reply = this.returned.get(id);
      if (reply !== undefined) {
        this.returned.delete(id);
        throw new UnroutableMessageError(routingKey, id, reply);
      }
      return;
    }
  }

  private async setupConsumer<T extends MessageType>(
    channel: ConfirmChannel,
    spec: ConsumerSpec<T> | BatchConsumerSpec<T>,
    policy: RetryPolicy,
    prefetch: number,
    state: ActiveConsumer,
  ): Promise<void> {
    const watch = this.watchChannel(channel, `consumer ${spec.queue}`, () => {
      if (state.channel === channel) {
        state.channel = undefined;
        state.consumerTag = undefined;
      }
    });
    const sender = new ConfirmedSender(channel);
    await channel.assertExchange(this.exchange, 'topic', { durable: true });
    await channel.assertQueue(spec.queue, { durable: true, arguments: QUORUM });
    for (const type of spec.types) await channel.bindQueue(spec.queue, this.exchange, type);
    for (const [index, delayMs] of policy.delaysMs.entries()) {
      await channel.assertQueue(retryQueueName(spec.queue, index + 1), {
        durable: true,
        arguments: { 'x-message-ttl': delayMs, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': spec.queue },
      });
    }
    await channel.assertQueue(deadLetterQueueName(spec.queue), { durable: true, arguments: QUORUM });
    if (this.closing) return;
    await channel.prefetch(prefetch);
    // One batcher per channel: delivery tags, and so acks of several at once, belong to a channel.
    const deliver = 'handleBatch' in spec ? this.batcher(channel, sender, spec, policy) : (message: ConsumeMessage) => this.onDelivery(channel, sender, message, spec, policy);
    const { consumerTag } = await channel.consume(
      spec.queue,
      (message: ConsumeMessage | null) => {
        if (message === null) {
          this.log.warn({ queue: spec.queue }, 'consumer cancelled by the broker');
          return;
        }
        void this.track(deliver(message));
      },
      { noAck: false },
    );
    state.channel = channel;
    state.consumerTag = consumerTag;
    watch.markReady();
  }

  /** Never rejects: every outcome ends in ack (work done or message moved) or in leaving it to the broker. */
  private async onDelivery<T extends MessageType>(
    channel: ConfirmChannel,
    sender: ConfirmedSender,
    message: ConsumeMessage,
    spec: ConsumerSpec<T>,
    policy: RetryPolicy,
  ): Promise<void> {
    const decoded = decodeEnvelope(message.content, spec.types);
    if (!decoded.ok) {
      await this.deadLetterUnprocessable(channel, sender, message, spec.queue, decoded.reason);
      return;
    }
    await this.handleOne(channel, sender, message, decoded.envelope, spec, policy);
  }

  private async deadLetterUnprocessable(channel: ConfirmChannel, sender: ConfirmedSender, message: ConsumeMessage, queue: string, reason: string): Promise<void> {
    this.log.warn({ queue, reason }, 'unprocessable message; dead-lettering');
    const headers = message.properties.headers as Headers | undefined;
    await this.moveAndAck(channel, sender, message, deadLetterQueueName(queue), deadLetterHeaders(headers, reason, message.fields.routingKey), queue, 'dead_lettered');
  }

  /** Runs the handler for one decoded message, then acks it, or moves it to a retry or dead-letter queue. */
  private async handleOne<T extends MessageType>(
    channel: ConfirmChannel,
    sender: ConfirmedSender,
    message: ConsumeMessage,
    envelope: Envelope<MessagePayload<T>>,
    spec: ConsumerSpec<T>,
    policy: RetryPolicy,
  ): Promise<void> {
    const headers = message.properties.headers as Headers | undefined;
    const routingKey = message.fields.routingKey;
    const attempt = attemptFromHeaders(headers);
    const correlationId = envelope.correlationId ?? stringHeader(headers, CORRELATION_HEADER);
    try {
      await runWithCorrelationId(correlationId, () => spec.handle(envelope, { redelivered: message.fields.redelivered, attempt }));
    } catch (error) {
      const decision = decideOnFailure(spec.queue, attempt, policy, error);
      if (decision.action === 'retry') {
        this.log.warn({ queue: spec.queue, messageId: envelope.id, attempt, delayMs: decision.delayMs, correlationId, err: decision.error }, 'handler failed; retrying later');
        await this.moveAndAck(channel, sender, message, decision.queue, retryHeaders(headers, decision.nextAttempt, decision.error, routingKey), spec.queue, 'retried');
      } else {
        this.log.error({ queue: spec.queue, messageId: envelope.id, attempt, correlationId, reason: decision.reason }, 'handler failed; dead-lettering');
        await this.moveAndAck(channel, sender, message, decision.queue, deadLetterHeaders(headers, decision.reason, routingKey), spec.queue, 'dead_lettered');
      }
      return;
    }
    this.settle(channel, message, 'ack');
    consumedTotal.inc({ queue: spec.queue, outcome: 'acked' });
  }

  /**
   * The delivery callback of a batch consumer: collects decoded messages and runs one batch at a
   * time; the returned promise settles when the message is acked or moved (close() waits for it).
   */
  private batcher<T extends MessageType>(channel: ConfirmChannel, sender: ConfirmedSender, spec: BatchConsumerSpec<T>, policy: RetryPolicy): (message: ConsumeMessage) => Promise<void> {
    const maxBatch = spec.maxBatch ?? DEFAULT_MAX_BATCH;
    let waiting: BatchItem<T>[] = [];
    let scheduled = false;
    let running = false;
    /** Delivery tags of malformed messages being dead-lettered: an ack of several at once must not cover them. */
    const moving = new Set<number>();

    const schedule = (): void => {
      if (scheduled || running || waiting.length === 0) return;
      scheduled = true;
      // setImmediate: the messages parsed from the same socket read join this batch.
      setImmediate(() => {
        scheduled = false;
        running = true;
        const batch = waiting.slice(0, maxBatch);
        waiting = waiting.slice(batch.length);
        void this.runBatch(channel, sender, batch, spec, policy, moving).finally(() => {
          running = false;
          schedule();
        });
      });
    };

    return async (message) => {
      const decoded = decodeEnvelope(message.content, spec.types);
      if (!decoded.ok) {
        moving.add(message.fields.deliveryTag);
        try {
          await this.deadLetterUnprocessable(channel, sender, message, spec.queue, decoded.reason);
        } finally {
          moving.delete(message.fields.deliveryTag);
        }
        return;
      }
      const settled = deferred();
      waiting.push({ message, envelope: decoded.envelope, settled });
      schedule();
      await settled.promise;
    };
  }

  /** Never rejects: the batch is acked when its handler succeeds, otherwise each message is handled alone. */
  private async runBatch<T extends MessageType>(
    channel: ConfirmChannel,
    sender: ConfirmedSender,
    batch: BatchItem<T>[],
    spec: BatchConsumerSpec<T>,
    policy: RetryPolicy,
    moving: ReadonlySet<number>,
  ): Promise<void> {
    try {
      await spec.handleBatch(batch.map((item) => item.envelope));
    } catch (error) {
      this.log.warn({ queue: spec.queue, size: batch.length, err: errorMessage(error) }, 'batch handler failed; handling its messages one by one');
      await Promise.all(batch.map((item) => this.handleOne(channel, sender, item.message, item.envelope, spec, policy).finally(() => item.settled.resolve())));
      return;
    }
    // Earlier batches are settled and later deliveries have higher tags: one ack covers the batch
    // unless a malformed message below its last tag is still being moved.
    const last = batch[batch.length - 1].message;
    const lastTag = last.fields.deliveryTag;
    const covered = batch.length > 1 && ![...moving].some((tag) => tag < lastTag);
    if (covered) this.settleUpTo(channel, last);
    for (const item of batch) {
      if (!covered) this.settle(channel, item.message, 'ack');
      consumedTotal.inc({ queue: spec.queue, outcome: 'acked' });
      item.settled.resolve();
    }
  }

  // The original is acked only once its copy is confirmed, so a message is never in neither place.
  private async moveAndAck(
    channel: ConfirmChannel,
    sender: ConfirmedSender,
    message: ConsumeMessage,
    queue: string,
    headers: Headers,
    from: string,
    outcome: 'retried' | 'dead_lettered',
  ): Promise<void> {
    try {
      await sender.sendToQueue(queue, message.content, forwardOptions(message.properties, headers));
    } catch (error) {
      this.log.error({ queue, err: errorMessage(error) }, 'could not move message; leaving it with the broker');
      this.settle(channel, message, 'requeue');
      consumedTotal.inc({ queue: from, outcome: 'requeued' });
      return;
    }
    this.settle(channel, message, 'ack');
    consumedTotal.inc({ queue: from, outcome });
  }

  private settle(channel: ConfirmChannel, message: ConsumeMessage, outcome: 'ack' | 'requeue'): void {
    try {
      if (outcome === 'ack') channel.ack(message);
      else channel.nack(message, false, true);
    } catch (error) {
      // The delivering channel is gone; the broker redelivers the message on the next channel.
      this.log.warn({ err: errorMessage(error) }, `${outcome} not sent: channel closed`);
    }
  }

  /** Acks `message` and every earlier delivery of its channel not acked yet (basic.ack multiple). */
  private settleUpTo(channel: ConfirmChannel, message: ConsumeMessage): void {
    try {
      channel.ack(message, true);
    } catch (error) {
      this.log.warn({ err: errorMessage(error) }, 'ack not sent: channel closed');
    }
  }

  /**
   * A channel the server closes with an error (the connection staying up) is never replaced by
   * amqp-connection-manager, which only recreates channels on reconnect: force one.
   */
  private watchChannel(channel: ConfirmChannel, what: string, onClose: () => void): { markReady(): void } {
    // Before setup completes a failure is a setup error (say, a queue declared with other
    // arguments): reconnecting would only repeat it, so it is reported instead.
    let ready = false;
    channel.on('close', onClose);
    channel.on('error', (err: unknown) => {
      this.log.error({ err: errorMessage(err) }, `${what} channel closed by the broker`);
      if (ready && !this.closing && this.manager?.isConnected()) this.manager.reconnect();
    });
    return { markReady: () => (ready = true) };
  }

  private async withTemporaryChannel<R>(work: (channel: ConfirmChannel) => Promise<R>): Promise<R> {
    const connection = this.manager?.connection;
    if (!connection || this.closing) throw new Error('rabbitmq: not connected');
    const channel = await connection.createConfirmChannel();
    // Errors surface through the rejected operation; an unheard 'error' event would crash the process.
    channel.on('error', () => undefined);
    try {
      return await work(channel);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /** Returns the queue's ready message count. */
  private async checkQueue(channel: ConfirmChannel, queue: string): Promise<number> {
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } catch (error) {
      throw new Error(`queue "${queue}" cannot be used: ${errorMessage(error)}`);
    }
  }
}

function stringHeader(headers: Headers | undefined, name: string): string | undefined {
  const value = headers?.[name];
  return typeof value === 'string' ? value : undefined;
}

function toDeadLetter(message: GetMessage): DeadLetter {
  const headers = { ...(message.properties.headers as Headers | undefined) };
  const messageId: unknown = message.properties.messageId;
  const type: unknown = message.properties.type;
  return {
    messageId: typeof messageId === 'string' ? messageId : undefined,
    type: typeof type === 'string' ? type : undefined,
    routingKey: stringHeader(headers, ORIGINAL_ROUTING_KEY_HEADER) ?? message.fields.routingKey,
    correlationId: stringHeader(headers, CORRELATION_HEADER),
    reason: stringHeader(headers, DEATH_REASON_HEADER),
    failedAt: stringHeader(headers, FAILED_AT_HEADER),
    attempt: attemptFromHeaders(headers),
    headers,
    body: message.content.toString('utf8'),
  };
}
