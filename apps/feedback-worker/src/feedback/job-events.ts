import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { type Messaging, MESSAGING } from '@ragmesh/messaging';
import { JobsRepository, type StatusChange, type StatusMark } from './jobs.repository';

export const STATUS_RELAY_OPTIONS = Symbol('FEEDBACK_STATUS_RELAY_OPTIONS');
export interface StatusRelayOptions {
  intervalMs: number;
}
/** Rows re-published per relay pass. */
export const STATUS_RELAY_BATCH = 100;

/** One id per transition: a re-published event is the same message to the gateway, which drops repeats. */
export const statusEventId = (change: StatusChange): string => `feedback-status:${change.jobId}:${change.status}:${change.at.toISOString()}`;

/** Announces job status transitions (`feedback.status.changed`) so the gateway can answer GET /v1/feedback/:id. */
export abstract class JobEvents {
  /** Never rejects: a transition whose event is not confirmed stays pending in its row for the relay. */
  abstract statusChanged(change: StatusChange): Promise<void>;
  /** Publishes and, once confirmed, marks the row published; rejects when the broker refuses. */
  abstract publish(change: StatusChange): Promise<void>;
}

@Injectable()
export class AmqpJobEvents extends JobEvents {
  private readonly logger = new Logger(AmqpJobEvents.name);
  /** Confirmed transitions not yet marked in their rows: written by one UPDATE per batch, not one commit per event. */
  private readonly confirmed: StatusMark[] = [];
  private marking: Promise<void> | undefined;

  constructor(
    @Inject(MESSAGING) private readonly messaging: Messaging,
    private readonly jobs: JobsRepository,
  ) {
    super();
  }

  async statusChanged(change: StatusChange): Promise<void> {
    try {
      await this.publish(change);
    } catch (err) {
      this.logger.warn({ jobId: change.jobId, status: change.status, err: err instanceof Error ? err.message : String(err) }, 'status event not published yet; the relay will retry');
    }
  }

  async publish(change: StatusChange): Promise<void> {
    const { jobId, status, attempts, lastError, at } = change;
    await this.messaging.publish(
      'feedback.status.changed',
      { jobId, status, attempts, ...(lastError ? { lastError } : {}), at: at.toISOString() },
      { id: statusEventId(change) },
    );
    await this.markPublished({ jobId, at });
  }

  /** Resolves once this mark is written. A mark lost with a failed batch or a crash only means the relay publishes the same event again. */
  private markPublished(mark: StatusMark): Promise<void> {
    this.confirmed.push(mark);
    this.marking ??= this.writeMarks();
    return this.marking;
  }

  /** Marks arriving while a batch is written go into the next one; the promise settles when none are left. */
  private async writeMarks(): Promise<void> {
    try {
      while (this.confirmed.length > 0) await this.jobs.markStatusPublished(this.confirmed.splice(0));
    } finally {
      this.marking = undefined;
    }
  }
}

/**
 * The job row is the status outbox: a transition is committed with its stamp first, published
 * right after, and this relay re-publishes whatever the broker has not confirmed (a refused
 * publish, a crash between commit and publish). Only a job's latest status is pending, which is
 * all the gateway keeps.
 */
@Injectable()
export class StatusRelay implements OnModuleDestroy {
  private readonly logger = new Logger(StatusRelay.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly jobs: JobsRepository,
    private readonly events: JobEvents,
    @Inject(STATUS_RELAY_OPTIONS) private readonly opts: StatusRelayOptions,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.opts.intervalMs);
  }

  /** One pass; returns how many events it published. Overlapping calls share the pass in flight. */
  tick(): Promise<number> {
    this.running ??= this.relay().finally(() => (this.running = undefined));
    return this.running;
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async relay(): Promise<number> {
    let published = 0;
    try {
      // Only transitions older than one interval: younger ones are still being published inline.
      for (const change of await this.jobs.unpublishedStatuses(STATUS_RELAY_BATCH, this.opts.intervalMs)) {
        await this.events.publish(change);
        published += 1;
      }
    } catch (err) {
      this.logger.warn({ published, err: err instanceof Error ? err.message : String(err) }, 'status relay pass stopped; next pass retries');
    }
    if (published > 0) this.logger.log({ published }, 'pending status events published');
    return published;
  }
}
