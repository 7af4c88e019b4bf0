import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { Envelope, MessagePayload } from '@ragmesh/contracts';
import { Messaging, MESSAGING } from '@ragmesh/messaging';
import { EventLogRepository } from './event-log.repository';

export const EVENT_LOG_QUEUE = 'model-registry.event-log';

/**
 * Status changes travel the bus (other services may bind to them) and come back here into
 * the event log, idempotent by envelope id, so the log holds exactly what was announced.
 * Bound at module init, before the watcher's first round publishes (an unbound key is unroutable).
 */
@Injectable()
export class ModelStatusConsumer implements OnModuleInit {
  constructor(
    @Inject(MESSAGING) private readonly messaging: Messaging,
    private readonly log: EventLogRepository,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.messaging.consume({ queue: EVENT_LOG_QUEUE, types: ['model.status.changed'], handle: (envelope) => this.handle(envelope) });
  }

  async handle(envelope: Envelope<MessagePayload<'model.status.changed'>>): Promise<void> {
    const p = envelope.payload;
    await this.log.append('model.status.changed', `${p.upstream}/${p.model}`, { ...p }, { messageId: envelope.id });
  }
}
