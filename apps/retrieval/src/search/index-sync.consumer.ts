import { Injectable, Logger } from '@nestjs/common';
import { Messaging } from '@ragmesh/messaging';
import { KeyedLock } from '../common/keyed-lock';
import { RetrievalMetrics } from '../common/metrics';
import { DocumentsRepository } from '../documents/documents.repository';
import { SearchIndex } from './search-index';

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
    private readonly documents: DocumentsRepository,
    private readonly index: SearchIndex,
    private readonly locks: KeyedLock,
    private readonly metrics: RetrievalMetrics,
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
    await this.locks.run(documentId, async () => {
      const chunks = await this.documents.findDocumentChunks(documentId);
      this.index.replaceDocument(documentId, chunks);
    });
    this.metrics.indexSize(this.index.documentCount, this.index.chunkCount);
  }
}
