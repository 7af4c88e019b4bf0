import { Inject, Injectable } from '@nestjs/common';
import type { MessagePayload } from '@ragmesh/contracts';
import { type Messaging, MESSAGING } from '@ragmesh/messaging';

export type TurnCompleted = MessagePayload<'conversation.turn.completed'>;

/** Facts the gateway announces, behind an adapter so use-cases can be tested without a broker. */
export abstract class EventsRepository {
  abstract turnCompleted(payload: TurnCompleted): Promise<void>;
}

@Injectable()
export class AmqpEventsRepository extends EventsRepository {
  constructor(@Inject(MESSAGING) private readonly messaging: Messaging) {
    super();
  }

  async turnCompleted(payload: TurnCompleted): Promise<void> {
    // A stable id per turn: a retried publish is deduplicated by consumers.
    await this.messaging.publish('conversation.turn.completed', payload, { id: `turn:${payload.conversationId}:${payload.turnIndex}` });
  }
}
