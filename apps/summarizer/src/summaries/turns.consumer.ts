import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Envelope, MessagePayload } from '@ragmesh/contracts';
import type { Messaging, RetryPolicy } from '@ragmesh/messaging';
import { MESSAGING } from '../messaging/messaging.module';
import { SummarizeTurnUseCase } from './summarize-turn.use-case';

export const TURNS_QUEUE = 'summarizer.turns';
export const TURNS_RETRY = Symbol('SUMMARIZER_TURNS_RETRY');

type TurnCompleted = MessagePayload<'conversation.turn.completed'>;

/** AMQP edge: the payload is validated by Messaging against the catalogue before it gets here. */
@Injectable()
export class TurnsConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger(TurnsConsumer.name);

  constructor(
    @Inject(MESSAGING) private readonly messaging: Messaging,
    private readonly useCase: SummarizeTurnUseCase,
    @Inject(TURNS_RETRY) private readonly retry: RetryPolicy,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.messaging.consume({
      queue: TURNS_QUEUE,
      types: ['conversation.turn.completed'],
      retry: this.retry,
      handle: (envelope) => this.handle(envelope),
    });
  }

  async handle(envelope: Envelope<TurnCompleted>): Promise<void> {
    const { conversationId, turnIndex, question, answer } = envelope.payload;
    const outcome = await this.useCase.execute({ envelopeId: envelope.id, conversationId, turnIndex, question, answer });
    this.logger.log({ envelopeId: envelope.id, conversationId, turnIndex, outcome }, 'turn handled');
  }
}
