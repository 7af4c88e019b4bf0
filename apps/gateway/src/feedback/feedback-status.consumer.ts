import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Envelope, MessagePayload } from '@ragmesh/contracts';
import { type Messaging, MESSAGING } from '@ragmesh/messaging';
import { FeedbackUseCase } from './feedback.use-case';

export const FEEDBACK_STATUS_QUEUE = 'gateway.feedback-status';

/** AMQP edge: the feedback-worker's `feedback.status.changed` → gateway.feedback_jobs. */
@Injectable()
export class FeedbackStatusConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger(FeedbackStatusConsumer.name);

  constructor(
    @Inject(MESSAGING) private readonly messaging: Messaging,
    private readonly feedback: FeedbackUseCase,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.messaging.consume({
      queue: FEEDBACK_STATUS_QUEUE,
      types: ['feedback.status.changed'],
      handle: (envelope) => this.handle(envelope),
    });
  }

  async handle(envelope: Envelope<MessagePayload<'feedback.status.changed'>>): Promise<void> {
    const outcome = await this.feedback.applyStatus(envelope.id, envelope.payload);
    // A job this gateway never created (another environment, a wiped database): nothing to update, nothing to retry.
    if (outcome !== 'applied') this.logger.log(`status ${envelope.payload.status} of job ${envelope.payload.jobId} (${envelope.id}): ${outcome}`);
  }
}
