import type { Gauge } from 'prom-client';
import { getOrCreateGauge, metricsRegistry } from '@ragmesh/observability';
import { errorMessage } from './errors';
import { deadLetterQueueName, retryQueueName } from './policy';

/** What the broker says of one queue (AMQP queue.declare-ok: ready messages and consumers). */
export interface QueueStat {
  messages: number;
  consumers: number;
}

/** Asks the broker about queues; resolves with the stats of those it could check. */
export type QueueInspector = (queues: string[]) => Promise<Map<string, QueueStat>>;

export type QueueKind = 'main' | 'retry' | 'dead_letter';

/** A scrape must not hang on a broker that went away. */
export const QUEUE_CHECK_TIMEOUT_MS = 2_000;

interface WatchedQueue {
  queue: string;
  name: string;
  kind: QueueKind;
}

/**
 * Queue depth, consumer lag and dead letters per consumer queue, read from the broker at scrape
 * time (passive declare: no management or prometheus plugin needed). Every replica reports the
 * same queue, so dashboards take max by queue. Lag = messages not yet handled: ready in the
 * queue plus waiting in its retry queues (delivered-but-unacked ones are in flight, not lag).
 */
export class QueueMetrics {
  private readonly watched = new Map<string, WatchedQueue>();
  private readonly inspectors = new Set<QueueInspector>();
  private lastError?: string;

  private readonly gauge: Gauge<string>;

  constructor(private readonly timeoutMs: number = QUEUE_CHECK_TIMEOUT_MS) {
    this.gauge = getOrCreateGauge(
      metricsRegistry,
      'ragmesh_messaging_queue_messages',
      'Messages ready in a consumer queue, its retry queues (kind=retry) and its dead-letter queue (kind=dead_letter), from the broker at scrape time',
      ['queue', 'kind'],
      () => this.collect(),
    );
  }

  /** Starts reporting a consumer queue with its retry and dead-letter queues. */
  watch(queue: string, retryQueues: number, inspector: QueueInspector): void {
    this.inspectors.add(inspector);
    this.watched.set(queue, { queue, name: queue, kind: 'main' });
    for (let n = 1; n <= retryQueues; n++) {
      const name = retryQueueName(queue, n);
      this.watched.set(name, { queue, name, kind: 'retry' });
    }
    const dlq = deadLetterQueueName(queue);
    this.watched.set(dlq, { queue, name: dlq, kind: 'dead_letter' });
  }

  /** Stops asking through this inspector (its connection closed). */
  forget(inspector: QueueInspector): void {
    this.inspectors.delete(inspector);
    if (this.inspectors.size === 0) this.watched.clear();
  }

  /** The reason the last scrape could not read the broker, if it could not. */
  get error(): string | undefined {
    return this.lastError;
  }

  private async collect(): Promise<void> {
    const gauge = this.gauge;
    gauge.reset();
    const inspector = [...this.inspectors][0];
    if (!inspector || this.watched.size === 0) return;
    let stats: Map<string, QueueStat>;
    try {
      stats = await withTimeout(inspector([...this.watched.keys()]), this.timeoutMs);
      this.lastError = undefined;
    } catch (err) {
      // No series rather than stale ones: a scrape that cannot see the broker must not show old depths.
      this.lastError = errorMessage(err);
      return;
    }
    const totals = new Map<string, number>();
    for (const watched of this.watched.values()) {
      const stat = stats.get(watched.name);
      if (!stat) continue;
      const key = `${watched.queue}\u0000${watched.kind}`;
      totals.set(key, (totals.get(key) ?? 0) + stat.messages);
    }
    for (const [key, messages] of totals) {
      const [queue, kind] = key.split('\u0000');
      gauge.set({ queue, kind }, messages);
    }
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`queue check timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** The process-wide collector every Messaging instance registers its consumer queues with. */
export const queueMetrics = new QueueMetrics();
