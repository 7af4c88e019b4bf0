import { Inject, Injectable, Logger, type OnModuleDestroy, Optional } from '@nestjs/common';
import { type Messaging, MESSAGING } from '@ragmesh/messaging';
import { JobsRepository, type StatusChange } from './jobs.repository';

export const STATUS_RELAY_OPTIONS = Symbol('FEEDBACK_STATUS_RELAY_OPTIONS');
export interface StatusRelayOptions {
  intervalMs: number;
}

export const STATUS_EVENT_OPTIONS = Symbol('FEEDBACK_STATUS_EVENT_OPTIONS');
export interface StatusEventOptions {
  /**
   * FEEDBACK_RUNNING_EVENT_DELAY_MS: `running` is announced this long after it is entered, and
   * not at all when the job's next status comes first (0: at once).
   */
  runningDelayMs: number;
}
/** Rows re-published per relay pass. */
export const STATUS_RELAY_BATCH = 100;

/** One id per transition: a re-published event is the same message to the gateway, which drops repeats. */
export const statusEventId = (change: StatusChange): string => `feedback-status:${change.jobId}:${change.status}:${change.at.toISOString()}`;

/** Announces job status transitions (`feedback.status.changed`) so the gateway can answer GET /v1/feedback/:id. */
export abstract class JobEvents {
  /** Never rejects: a transition whose event is not confirmed stays pending in its row for the relay. */
  abstract statusChanged(change: StatusChange): Promise<void>;
  /** Publishes and, once confirmed, hands the row's mark to the repository; rejects when the broker refuses. */
  abstract publish(change: StatusChange): Promise<void>;
}

/**
 * The gateway keeps only a job's latest status, so a `running` that its outcome follows within
 * runningDelayMs is never sent: one publish, one broker message and one status update fewer per
 * job. Its row needs no mark either (the outcome's stamp replaces it); on shutdown a held
 * `running` is sent at once.
 */
@Injectable()
export class AmqpJobEvents extends JobEvents implements OnModuleDestroy {
  private readonly logger = new Logger(AmqpJobEvents.name);
  /** `running` transitions waiting out the delay, by job id; `send` publishes now, `drop` forgets. */
  private readonly held = new Map<string, { send(): Promise<void>; drop(): void }>();

  constructor(
    @Inject(MESSAGING) private readonly messaging: Messaging,
    private readonly jobs: JobsRepository,
    @Optional() @Inject(STATUS_EVENT_OPTIONS) private readonly options: StatusEventOptions = { runningDelayMs: 0 },
  ) {
    super();
  }

  statusChanged(change: StatusChange): Promise<void> {
    this.held.get(change.jobId)?.drop();
    if (change.status === 'running' && this.options.runningDelayMs > 0) return this.hold(change);
    return this.announce(change);
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.held.values()].map((h) => h.send()));
  }

  /** Resolves once the transition is announced or superseded. */
  private hold(change: StatusChange): Promise<void> {
    return new Promise<void>((resolve) => {
      const release = (): void => {
        clearTimeout(timer);
        this.held.delete(change.jobId);
      };
      const send = (): Promise<void> => {
        release();
        return this.announce(change).then(resolve);
      };
      const timer = setTimeout(() => void send(), this.options.runningDelayMs);
      this.held.set(change.jobId, {
        send,
        drop: () => {
          release();
          resolve();
        },
      });
    });
  }

  private async announce(change: StatusChange): Promise<void> {
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
    // Not awaited: the repository writes marks in batches, with the next job lock release (which
    // may be this job's own). A mark lost with a failed write only means the relay publishes the same event again.
    this.jobs.markStatusPublished([{ jobId, at }]).catch((err: unknown) =>
      this.logger.warn({ jobId, status, err: err instanceof Error ? err.message : String(err) }, 'status event published but not marked; the relay will publish it again'),
    );
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
