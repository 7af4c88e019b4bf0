import { BeforeApplicationShutdown, DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { createLogger } from '@ragmesh/observability';
import { Messaging, type MessagingOptions } from './messaging';

/** Injection token of the service's connected Messaging. */
export const MESSAGING = Symbol('MESSAGING');
const MODULE_OPTIONS = Symbol('MESSAGING_MODULE_OPTIONS');

/**
 * The Nest shutdown phase in which the connection closes (close() stops consuming and waits for
 * in-flight handlers). 'beforeApplicationShutdown': before any onApplicationShutdown hook, so a
 * consumer drains while the database is still open. 'onApplicationShutdown': after the HTTP
 * server has finished its requests, for apps whose requests publish.
 */
export type MessagingClosePhase = 'beforeApplicationShutdown' | 'onApplicationShutdown';

export interface MessagingModuleOptions extends Pick<MessagingOptions, 'url' | 'service' | 'exchange' | 'publishDeadlineMs'> {
  /** Level of the JSON logger the connection logs through (createLogger(service, logLevel)). */
  logLevel?: string;
  /** Default 'beforeApplicationShutdown'. */
  closeOn?: MessagingClosePhase;
}

/** Global: one RabbitMQ connection per service, connected before the app starts, closed on shutdown. */
@Module({})
export class MessagingModule implements BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(MESSAGING) private readonly messaging: Messaging,
    @Inject(MODULE_OPTIONS) private readonly options: MessagingModuleOptions,
  ) {}

  static forRoot(options: MessagingModuleOptions): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      providers: [
        { provide: MODULE_OPTIONS, useValue: options },
        {
          provide: MESSAGING,
          useFactory: async () => {
            const { url, service, exchange, logLevel, publishDeadlineMs } = options;
            const messaging = new Messaging({ url, service, exchange, publishDeadlineMs, logger: createLogger(service, logLevel) });
            await messaging.connect();
            return messaging;
          },
        },
      ],
      exports: [MESSAGING],
    };
  }

  async beforeApplicationShutdown(): Promise<void> {
    if ((this.options.closeOn ?? 'beforeApplicationShutdown') === 'beforeApplicationShutdown') await this.messaging.close();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.options.closeOn === 'onApplicationShutdown') await this.messaging.close();
  }
}
