import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Envelope, MessagePayload } from '@ragmesh/contracts';
import { type Messaging, MESSAGING } from '@ragmesh/messaging';
import type { StatusOutcome } from './feedback.repository';
import { FeedbackUseCase } from './feedback.use-case';

export const FEEDBACK_STATUS_QUEUE = 'gateway.feedback-status';
/** Status events applied by one statement and acked by one frame (two arrive per job). */
export const FEEDBACK_STATUS_BATCH = 100;

type StatusEnvelope = Envelope<MessagePayload<'feedback.status.changed'>>;

/** AMQP edge: the feedback-worker's `feedback.status.changed` → gateway.feedback_jobs, in batches. */
@Injectable()
export class FeedbackStatusConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger(FeedbackStatusConsumer.name);

  constructor(
    @Inject(MESSAGING) private readonly messaging: Messaging,
    private readonly feedback: FeedbackUseCase,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.messaging.consumeBatches({
      queue: FEEDBACK_STATUS_QUEUE,
      types: ['feedback.status.changed'],
      maxBatch: FEEDBACK_STATUS_BATCH,
      handleBatch: (envelopes) => this.handleBatch(envelopes),
      // A batch that fails (say, one event naming a malformed job id) is retried one by one, so only that event retries.
      handle: (envelope) => this.handle(envelope),
    });
  }

  async handleBatch(envelopes: StatusEnvelope[]): Promise<void> {
    const outcomes = await this.feedback.applyStatuses(envelopes.map((e) => ({ envelopeId: e.id, event: e.payload })));
    for (const [i, outcome] of outcomes.entries()) this.report(envelopes[i], outcome);
  }

  async handle(envelope: StatusEnvelope): Promise<void> {
    this.report(envelope, await this.feedback.applyStatus(envelope.id, envelope.payload));
  }

  private report(envelope: StatusEnvelope, outcome: StatusOutcome): void {
    // A job this gateway never created (another environment, a wiped database): nothing to update, nothing to retry.
    // Stale is routine when `running` and `succeeded` of one job arrive in one batch: not worth a line.
    if (outcome === 'duplicate' || outcome === 'unknown-job') this.logger.log(`status ${envelope.payload.status} of job ${envelope.payload.jobId} (${envelope.id}): ${outcome}`);
  }
}
