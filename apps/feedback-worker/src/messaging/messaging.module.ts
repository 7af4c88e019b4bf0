import { BeforeApplicationShutdown, DynamicModule, Inject, Module } from '@nestjs/common';
import { Messaging } from '@ragmesh/messaging';
import { createLogger } from '@ragmesh/observability';
import { type AppConfig, SERVICE_NAME } from '../config';

export const MESSAGING = Symbol('FEEDBACK_MESSAGING');

/** One RabbitMQ connection for the consumer. */
@Module({})
export class MessagingModule implements BeforeApplicationShutdown {
  constructor(@Inject(MESSAGING) private readonly messaging: Messaging) {}

  static register(config: Pick<AppConfig, 'AMQP_URL' | 'LOG_LEVEL'>): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      providers: [
        {
          provide: MESSAGING,
          useFactory: async () => {
            const messaging = new Messaging({ url: config.AMQP_URL, service: SERVICE_NAME, logger: createLogger(SERVICE_NAME, config.LOG_LEVEL) });
            await messaging.connect();
            return messaging;
          },
        },
      ],
      exports: [MESSAGING],
    };
  }

  // Before the database closes: close() stops consuming and waits for in-flight handlers to commit and ack.
  async beforeApplicationShutdown(): Promise<void> {
    await this.messaging.close();
  }
}
