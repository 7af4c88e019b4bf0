import { Inject, Injectable, Logger } from '@nestjs/common';
import type { FeedbackJobStatus } from '@ragmesh/contracts';
import { type Messaging, MESSAGING } from '@ragmesh/messaging';

export interface StatusChange {
  jobId: string;
  status: FeedbackJobStatus;
  attempts: number;
  lastError?: string;
}

/** Announces job status transitions (`feedback.status.changed`) so the gateway can answer GET /v1/feedback/:id. */
export abstract class JobEvents {
  abstract statusChanged(change: StatusChange): Promise<void>;
}

const MAX_ERROR_LENGTH = 2_000;

@Injectable()
export class AmqpJobEvents extends JobEvents {
  private readonly logger = new Logger(AmqpJobEvents.name);

  constructor(@Inject(MESSAGING) private readonly messaging: Messaging) {
    super();
  }

  async statusChanged(change: StatusChange): Promise<void> {
    const { lastError, ...rest } = change;
    try {
      await this.messaging.publish('feedback.status.changed', {
        ...rest,
        ...(lastError ? { lastError: lastError.slice(0, MAX_ERROR_LENGTH) } : {}),
        at: new Date().toISOString(),
      });
    } catch (err) {
      // Best effort: the job's own outcome (and the callback) must not depend on the gateway's queue existing.
      // The worker's feedback.jobs row stays the source of truth; a lost event leaves the gateway's view stale.
      this.logger.warn({ jobId: change.jobId, status: change.status, err: err instanceof Error ? err.message : String(err) }, 'status event not published');
    }
  }
}
