import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Envelope, MessagePayload } from '@ragmesh/contracts';
import { Messaging, MESSAGING, PermanentError } from '@ragmesh/messaging';
import { UnknownConversationError } from './conversation.types';
import { ConversationsUseCase } from './conversations.use-case';

export const SUMMARIES_QUEUE = 'gateway.summaries';

/** AMQP edge: `conversation.summarized` (payload already validated by the messaging lib) → stored summary. */
@Injectable()
export class SummariesConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger(SummariesConsumer.name);

  constructor(
    @Inject(MESSAGING) private readonly messaging: Messaging,
    private readonly conversations: ConversationsUseCase,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.messaging.consume({
      queue: SUMMARIES_QUEUE,
      types: ['conversation.summarized'],
      handle: (envelope) => this.handle(envelope),
    });
  }

  async handle(envelope: Envelope<MessagePayload<'conversation.summarized'>>): Promise<void> {
    const { conversationId, upToTurnIndex, summary } = envelope.payload;
    try {
      const outcome = await this.conversations.applySummary({ messageId: envelope.id, conversationId, upToTurnIndex, summary });
      if (outcome !== 'applied') this.logger.log(`summary ${envelope.id} for ${conversationId} skipped: ${outcome}`);
    } catch (err) {
      // Retrying cannot make a conversation appear: straight to the dead letters with the reason.
      if (err instanceof UnknownConversationError) throw new PermanentError(err.message);
      throw err;
    }
  }
}
