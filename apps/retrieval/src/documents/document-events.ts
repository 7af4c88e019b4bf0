import type { MessagePayload } from '@ragmesh/contracts';

/** RabbitMQ behind a port: use-cases publish facts after their transaction commits. */
export abstract class DocumentEvents {
  abstract ingested(payload: MessagePayload<'document.ingested'>): Promise<void>;
  abstract deleted(payload: MessagePayload<'document.deleted'>): Promise<void>;
}
