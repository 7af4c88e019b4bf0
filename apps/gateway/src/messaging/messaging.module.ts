import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import type { MessagePayload } from '@ragmesh/contracts';
import { Messaging } from '@ragmesh/messaging';
import { createLogger } from '@ragmesh/observability';
import type { AppConfig } from '../config';

export const MESSAGING = Symbol('GATEWAY_MESSAGING');

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

@Module({})
export class MessagingModule implements OnApplicationShutdown {
  constructor(@Inject(MESSAGING) private readonly messaging: Messaging) {}

  static register(config: Pick<AppConfig, 'AMQP_URL' | 'LOG_LEVEL'>): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      providers: [
        {
          provide: MESSAGING,
          useFactory: async () => {
            const messaging = new Messaging({ url: config.AMQP_URL, service: 'gateway', logger: createLogger('gateway', config.LOG_LEVEL) });
            await messaging.connect();
            return messaging;
          },
        },
        { provide: EventsRepository, useClass: AmqpEventsRepository },
      ],
      exports: [MESSAGING, EventsRepository],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.messaging.close();
  }
}
