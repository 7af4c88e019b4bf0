import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Envelope, MessagePayload } from '@ragmesh/contracts';
import { Messaging, MESSAGING } from '@ragmesh/messaging';
import { DatasetRepository } from './dataset.repository';
import { filterRatedTurn } from './example-filter';
import { SettingsRepository } from './settings.repository';
import { TrainingMetrics } from './training.metrics';
import { TrainingService } from './training.service';

export const RATINGS_QUEUE = 'model-registry.ratings';

export type RatingOutcome = 'accepted' | 'low_score' | 'too_short' | 'too_long' | 'duplicate';

/** `conversation.rated` → filters → a pending dataset example; may trigger a training run. */
@Injectable()
export class RatingsConsumer implements OnModuleInit {
  private readonly logger = new Logger(RatingsConsumer.name);

  constructor(
    @Inject(MESSAGING) private readonly messaging: Messaging,
    private readonly dataset: DatasetRepository,
    private readonly settings: SettingsRepository,
    private readonly training: TrainingService,
    private readonly metrics: TrainingMetrics,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.messaging.consume({
      queue: RATINGS_QUEUE,
      types: ['conversation.rated'],
      handle: async (envelope) => {
        await this.handle(envelope);
      },
    });
  }

  async handle(envelope: Envelope<MessagePayload<'conversation.rated'>>): Promise<RatingOutcome> {
    const rating = envelope.payload;
    const outcome = await this.collect(rating);
    this.metrics.example(outcome);
    if (outcome !== 'accepted') {
      this.logger.log(`rating of ${rating.conversationId}#${rating.turnIndex} not collected: ${outcome}`);
      return outcome;
    }
    // A failed trigger must not redeliver the rating: the example is stored, and the next tick re-checks.
    await this.training.afterExampleAccepted().catch((err: unknown) => this.logger.warn(`auto training trigger: ${String(err)}`));
    return outcome;
  }

  private async collect(rating: MessagePayload<'conversation.rated'>): Promise<RatingOutcome> {
    const filtered = filterRatedTurn(rating, await this.settings.get());
    if (!filtered.accepted) return filtered.reason;
    const inserted = await this.dataset.insert({
      // The turn is the key: a redelivered message or a second rating of the same turn is one example.
      sourceMessageId: `${rating.conversationId}:${rating.turnIndex}`,
      conversationId: rating.conversationId,
      turnIndex: rating.turnIndex,
      question: filtered.question,
      answer: filtered.answer,
      score: rating.score,
      comment: rating.comment ?? null,
      model: rating.model,
      contentHash: filtered.contentHash,
    });
    return inserted === 'inserted' ? 'accepted' : 'duplicate';
  }
}
