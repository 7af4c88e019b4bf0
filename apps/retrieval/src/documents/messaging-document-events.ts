import { Injectable } from '@nestjs/common';
import type { MessagePayload } from '@ragmesh/contracts';
import { Messaging } from '@ragmesh/messaging';
import { DocumentEvents } from './document-events';

@Injectable()
export class MessagingDocumentEvents extends DocumentEvents {
  constructor(private readonly messaging: Messaging) {
    super();
  }

  async ingested(payload: MessagePayload<'document.ingested'>): Promise<void> {
    await this.messaging.publish('document.ingested', payload);
  }

  async deleted(payload: MessagePayload<'document.deleted'>): Promise<void> {
    await this.messaging.publish('document.deleted', payload);
  }
}
