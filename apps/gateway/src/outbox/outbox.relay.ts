import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { isMessageType, type MessagePayload } from '@ragmesh/contracts';
import { type Messaging, MESSAGING } from '@ragmesh/messaging';
import { MetricsService } from '@ragmesh/observability';
import { DATA_SOURCE } from '@ragmesh/persistence';
import type { Counter, Gauge } from 'prom-client';
import type { DataSource } from 'typeorm';

export const OUTBOX_POLL_INTERVAL_MS = 200;
export const OUTBOX_BATCH_SIZE = 50;
/** A row that failed to publish (broker refused, nothing bound) waits 2^attempts × base, capped. */
export const OUTBOX_RETRY_BASE_MS = 200;
export const OUTBOX_RETRY_MAX_MS = 30_000;
/** On shutdown a publish stuck on a dead broker is abandoned; its row stays unpublished for the next start. */
export const OUTBOX_STOP_TIMEOUT_MS = 5_000;
/**
 * A publish unconfirmed this long (broker down) fails like a refused one: the row backs off and
 * the batch's transaction ends instead of holding its row locks open for the whole outage.
 */
export const OUTBOX_PUBLISH_DEADLINE_MS = 10_000;
/**
 * A pass claims its rows for this long (next_attempt_at moves past it) instead of holding row locks
 * in an open transaction while it publishes; a relay that dies mid-pass leaves them to be taken
 * again after it. Longer than a pass can take (the publish deadline), so no other replica takes a
 * row a live pass is still publishing.
 */
export const OUTBOX_CLAIM_MS = 3 * OUTBOX_PUBLISH_DEADLINE_MS;
/** Under load a pass runs per request or so: the pending gauge is counted at most this often while rows flow. */
export const OUTBOX_PENDING_REFRESH_MS = 1_000;
const MAX_ERROR_LENGTH = 2_000;

export interface OutboxRow {
  id: string;
  created_at: Date;
  type: string;
  payload: unknown;
  correlation_id: string | null;
  attempts: number;
}

export const outboxRetryDelayMs = (attempts: number): number => Math.min(OUTBOX_RETRY_BASE_MS * 2 ** Math.min(attempts, 20), OUTBOX_RETRY_MAX_MS);

/**
 * The head of an INSERT of one message (id, type, payload, correlation_id). Callers write it in
 * the same statement (or transaction) as their own row; the relay publishes it after the commit.
 */
export const OUTBOX_INSERT = 'INSERT INTO gateway.outbox (id, type, payload, correlation_id)';

/**
 * Publishes committed outbox rows with confirms, so a message exists iff its transaction
 * committed. A pass is two statements and no transaction: claim a batch (SKIP LOCKED, so several
 * gateway replicas relay side by side without doubles), publish it with the confirms in flight
 * together, then mark what was confirmed. A crash between confirm and mark re-publishes with the
 * same envelope id after the claim runs out, which consumers dedupe.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly pending: Gauge<string>;
  private readonly published: Counter<string>;
  private stopped = false;
  private pendingRefreshedAt = 0;
  private loop?: Promise<void>;
  private wakeUp?: () => void;

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(MESSAGING) private readonly messaging: Messaging,
    metrics: MetricsService,
  ) {
    this.pending = metrics.gauge('ragmesh_outbox_pending', 'Outbox rows not yet published');
    this.published = metrics.counter('ragmesh_outbox_published_total', 'Outbox rows published with a broker confirm', ['type']);
  }

  onApplicationBootstrap(): void {
    this.loop = this.run();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((resolve) => (timer = setTimeout(resolve, OUTBOX_STOP_TIMEOUT_MS)))]);
    clearTimeout(timer);
  }

  /** Cuts the poll wait short, e.g. right after a request committed a row. */
  wake(): void {
    this.wakeUp?.();
  }

  /** One batch; returns how many rows were published. */
  async relayOnce(): Promise<number> {
    // TypeORM answers an UPDATE … RETURNING with [rows, affected].
    const [rows]: [OutboxRow[], number] = await this.ds.query(
      `UPDATE gateway.outbox o SET next_attempt_at = now() + ($2 || ' milliseconds')::interval
       WHERE o.id IN (
         SELECT id FROM gateway.outbox WHERE published_at IS NULL AND next_attempt_at <= now()
         ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED
       )
       RETURNING o.id, o.created_at, o.type, o.payload, o.correlation_id, o.attempts`,
      [OUTBOX_BATCH_SIZE, String(OUTBOX_CLAIM_MS)],
    );
    // RETURNING has no order: publish in commit order, as the rows were claimed.
    rows.sort((a, b) => a.created_at.getTime() - b.created_at.getTime());
    const results = await Promise.allSettled(rows.map((row) => this.publish(row)));
    const done = rows.filter((_, i) => results[i].status === 'fulfilled').map((r) => r.id);
    if (done.length > 0) await this.ds.query(`UPDATE gateway.outbox SET published_at = now() WHERE id = ANY($1::uuid[])`, [done]);
    const failed: { id: string; error: string; delayMs: number }[] = [];
    for (const [i, result] of results.entries()) {
      if (result.status === 'fulfilled') continue;
      const row = rows[i];
      const error = result.reason instanceof Error ? result.reason.message : String(result.reason);
      this.logger.warn(`outbox ${row.id} (${row.type}) not published, attempt ${row.attempts + 1}: ${error}`);
      failed.push({ id: row.id, error: error.slice(0, MAX_ERROR_LENGTH), delayMs: outboxRetryDelayMs(row.attempts) });
    }
    // A broker outage fails the whole batch: its back-offs are one statement too, each row with its own delay.
    if (failed.length > 0) {
      await this.ds.query(
        `UPDATE gateway.outbox o SET attempts = o.attempts + 1, last_error = f.error, next_attempt_at = now() + f.delay_ms * interval '1 millisecond'
         FROM unnest($1::uuid[], $2::text[], $3::int[]) AS f(id, error, delay_ms) WHERE o.id = f.id`,
        [failed.map((f) => f.id), failed.map((f) => f.error), failed.map((f) => f.delayMs)],
      );
    }
    const count = done.length;
    // An idle or stuck relay (nothing published) counts every pass, so the gauge shows what waits.
    if (count === 0 || Date.now() - this.pendingRefreshedAt >= OUTBOX_PENDING_REFRESH_MS) await this.refreshPending();
    return count;
  }

  private async publish(row: OutboxRow): Promise<void> {
    const type = row.type;
    if (!isMessageType(type)) throw new Error(`"${type}" is not in the message catalogue`);
    // The payload was typed when enqueued; publish() validates it against the catalogue again.
    await this.messaging.publish(type, row.payload as MessagePayload<typeof type>, {
      id: row.id,
      correlationId: row.correlation_id ?? undefined,
      deadlineMs: OUTBOX_PUBLISH_DEADLINE_MS,
    });
    this.published.inc({ type });
  }

  private async refreshPending(): Promise<void> {
    const [{ n }]: { n: string }[] = await this.ds.query(`SELECT count(*) AS n FROM gateway.outbox WHERE published_at IS NULL`);
    this.pending.set(Number(n));
    this.pendingRefreshedAt = Date.now();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let published = 0;
      try {
        published = await this.relayOnce();
      } catch (err) {
        if (!this.stopped) this.logger.warn(`outbox relay pass failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      // A full batch means more is waiting: go again at once.
      if (published < OUTBOX_BATCH_SIZE && !this.stopped) await this.sleep(OUTBOX_POLL_INTERVAL_MS);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}
