import { Injectable, Logger } from '@nestjs/common';
import { Messaging } from '@ragmesh/messaging';
import { KeyedLock } from '../common/keyed-lock';
import { IndexLoader } from './index-loader';

export const indexSyncQueue = (instanceId: string): string => `retrieval.index.${instanceId}`;

/**
 * Keeps this replica's index current with changes made through other replicas: every replica
 * has its own queue bound to document.*, and reloads the document from PostgreSQL (so the
 * handler is idempotent and always converges on the committed state, whatever the order).
 */
@Injectable()
export class IndexSyncConsumer {
  private readonly logger = new Logger(IndexSyncConsumer.name);

  constructor(
    private readonly messaging: Messaging,
    private readonly loader: IndexLoader,
    private readonly locks: KeyedLock,
  ) {}

  async start(instanceId: string): Promise<void> {
    await this.messaging.consume({
      queue: indexSyncQueue(instanceId),
      types: ['document.ingested', 'document.deleted'],
      handle: async (envelope) => {
        await this.refresh(envelope.payload.documentId);
      },
    });
    this.logger.log(`index sync consuming ${indexSyncQueue(instanceId)}`);
  }

  async refresh(documentId: string): Promise<void> {
    await this.locks.run(documentId, () => this.loader.reloadDocument(documentId));
  }
}
