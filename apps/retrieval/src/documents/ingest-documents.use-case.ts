import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { InvalidArgumentError, UnavailableError } from '../common/errors';
import { KeyedLock } from '../common/keyed-lock';
import { RetrievalMetrics } from '../common/metrics';
import { CHUNKING_SETTINGS, type ChunkingSettings } from '../common/settings';
import { EmbeddingModels } from '../embedding/embedding-models';
import { SearchIndex } from '../search/search-index';
import { DocumentEvents } from './document-events';
import { DocumentsRepository } from './documents.repository';
import {
  announceIngested,
  type ChunkedDocument,
  chunkDocument,
  embedDocuments,
  type IngestCommand,
  type IngestResult,
  indexedChunks,
} from './ingest-document.use-case';

export const MAX_BATCH_DOCUMENTS = 100;

export interface IngestDocumentsCommand {
  documents?: IngestCommand[];
}

const batchSchema = z
  .array(z.unknown(), { required_error: 'is required', invalid_type_error: 'must be a list' })
  .min(1, 'must hold at least one document')
  .max(MAX_BATCH_DOCUMENTS, `must hold at most ${MAX_BATCH_DOCUMENTS} documents`);

/**
 * Batch ingest: every document is validated, chunked and embedded before anything is written,
 * then all are written in one transaction, so one bad document rejects the whole batch and a
 * failure leaves nothing half-written.
 */
@Injectable()
export class IngestDocumentsUseCase {
  constructor(
    private readonly documents: DocumentsRepository,
    private readonly index: SearchIndex,
    private readonly models: EmbeddingModels,
    private readonly events: DocumentEvents,
    private readonly metrics: RetrievalMetrics,
    private readonly locks: KeyedLock,
    @Inject(CHUNKING_SETTINGS) private readonly chunking: ChunkingSettings,
  ) {}

  async execute(input: IngestDocumentsCommand): Promise<{ results: IngestResult[] }> {
    const listed = batchSchema.safeParse(input.documents);
    if (!listed.success) throw new InvalidArgumentError('documents', listed.error.issues[0].message);
    const items = input.documents ?? [];

    const chunked: ChunkedDocument[] = [];
    const firstIndexOf = new Map<string, number>();
    items.forEach((item, i) => {
      let doc: ChunkedDocument;
      try {
        doc = chunkDocument(item, this.chunking);
      } catch (err) {
        if (err instanceof InvalidArgumentError) throw new InvalidArgumentError(`documents[${i}].${err.field}`, err.reason);
        throw err;
      }
      // Two versions of one id in a batch would make "which one wins" an accident of order.
      const earlier = firstIndexOf.get(doc.document.id);
      if (earlier !== undefined) throw new InvalidArgumentError(`documents[${i}].id`, `duplicates documents[${earlier}].id`);
      firstIndexOf.set(doc.document.id, i);
      chunked.push(doc);
    });
    const prepared = await embedDocuments(chunked, this.models);

    // Rows are written in id order: concurrent batches (on any replica) lock them in the same order.
    const byId = [...prepared].sort((a, b) => (a.document.id < b.document.id ? -1 : a.document.id > b.document.id ? 1 : 0));
    const replacedById = await this.locks.runAll(
      byId.map((p) => p.document.id),
      async () => {
        const outcomes = await this.documents.replaceDocuments(byId);
        for (const doc of byId) this.index.replaceDocument(doc.document.id, indexedChunks(doc));
        return new Map(byId.map((doc, i) => [doc.document.id, outcomes[i].replaced]));
      },
    );
    this.metrics.indexSize(this.index.documentCount, this.index.chunkCount);

    const results: IngestResult[] = [];
    let unpublished: UnavailableError | undefined;
    for (const doc of prepared) {
      const replaced = replacedById.get(doc.document.id) ?? false;
      this.metrics.documentIngested(replaced);
      results.push({ documentId: doc.document.id, chunkCount: doc.chunks.length, replaced });
      // Every event is attempted; one failure still fails the call so the caller retries (idempotent by id).
      try {
        await announceIngested(this.events, this.metrics, doc, replaced);
      } catch (err) {
        if (!(err instanceof UnavailableError)) throw err;
        unpublished ??= err;
      }
    }
    if (unpublished !== undefined) {
      throw new UnavailableError('the batch was stored, but some document.ingested events could not be published; retry the call');
    }
    return { results };
  }
}
