import { Inject, Injectable } from '@nestjs/common';
import type { MessagePayload } from '@ragmesh/contracts';
import { type Messaging, MESSAGING } from '@ragmesh/messaging';

export type ConversationSummarized = MessagePayload<'conversation.summarized'>;

/** A stable id per (conversation, turn): a re-announced summary is deduplicated by consumers. */
export const summarizedEventId = (p: Pick<ConversationSummarized, 'conversationId' | 'upToTurnIndex'>): string =>
  `summary:${p.conversationId}:${p.upToTurnIndex}`;

export abstract class SummaryEventsRepository {
  /** Resolves once the broker confirmed the event. */
  abstract summarized(payload: ConversationSummarized): Promise<void>;
}

@Injectable()
export class AmqpSummaryEventsRepository extends SummaryEventsRepository {
  constructor(@Inject(MESSAGING) private readonly messaging: Messaging) {
    super();
  }

  async summarized(payload: ConversationSummarized): Promise<void> {
    await this.messaging.publish('conversation.summarized', payload, { id: summarizedEventId(payload) });
  }
}
