import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Envelope, MessagePayload } from '@ragmesh/contracts';
import { DEFAULT_RETRY, type Messaging, MESSAGING } from '@ragmesh/messaging';
import { SummarizeTurnUseCase } from './summarize-turn.use-case';

export const TURNS_QUEUE = 'summarizer.turns';

type TurnCompleted = MessagePayload<'conversation.turn.completed'>;

/** AMQP edge: the payload is validated by Messaging against the catalogue before it gets here. */
@Injectable()
export class TurnsConsumer {
  private readonly logger = new Logger(TurnsConsumer.name);

  constructor(
    @Inject(MESSAGING) private readonly messaging: Messaging,
    private readonly useCase: SummarizeTurnUseCase,
  ) {}

  /** Called by the bootstrap once everything else is up, so a failure can close the app cleanly. */
  async start(): Promise<void> {
    await this.messaging.consume({
      queue: TURNS_QUEUE,
      types: ['conversation.turn.completed'],
      // The delays are baked into the retry queues' declarations: every replica must use the same policy.
      retry: DEFAULT_RETRY,
      handle: (envelope) => this.handle(envelope),
    });
    this.logger.log({ queue: TURNS_QUEUE }, 'consuming');
  }

  async handle(envelope: Envelope<TurnCompleted>): Promise<void> {
    const { conversationId, turnIndex, question, answer } = envelope.payload;
    const outcome = await this.useCase.execute({ envelopeId: envelope.id, conversationId, turnIndex, question, answer });
    this.logger.log({ envelopeId: envelope.id, conversationId, turnIndex, outcome }, 'turn handled');
  }
}
