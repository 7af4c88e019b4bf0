import { Inject, Injectable } from '@nestjs/common';
import { type DeadLetter, type Messaging, MESSAGING } from '@ragmesh/messaging';

export type { DeadLetter };

/** The broker's dead-letter queues, as the admin use-case sees them. */
export abstract class DeadLettersRepository {
  abstract list(queue: string, limit: number): Promise<DeadLetter[]>;
  abstract replayAll(queue: string, limit: number): Promise<number>;
  abstract replayOne(queue: string, messageId: string): Promise<boolean>;
}

@Injectable()
export class AmqpDeadLettersRepository extends DeadLettersRepository {
  constructor(@Inject(MESSAGING) private readonly messaging: Messaging) {
    super();
  }

  list(queue: string, limit: number): Promise<DeadLetter[]> {
    return this.messaging.listDeadLetters(queue, limit);
  }

  replayAll(queue: string, limit: number): Promise<number> {
    return this.messaging.replayDeadLetters(queue, limit);
  }

  replayOne(queue: string, messageId: string): Promise<boolean> {
    return this.messaging.replayDeadLetter(queue, messageId);
  }
}
