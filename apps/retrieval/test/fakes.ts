import { HashingEmbedder } from '@ragmesh/llm';
import { KeyedLock } from '../src/common/keyed-lock';
import type { SearchSettings } from '../src/common/settings';
import { DeleteDocumentUseCase } from '../src/documents/delete-document.use-case';
import { GetChunkUseCase } from '../src/documents/get-chunk.use-case';
import { IngestDocumentUseCase } from '../src/documents/ingest-document.use-case';
import { IngestDocumentsUseCase } from '../src/documents/ingest-documents.use-case';
import { ListDocumentsUseCase } from '../src/documents/list-documents.use-case';
import { SearchIndex } from '../src/search/search-index';
import { SearchUseCase } from '../src/search/search.use-case';
import type { MessagePayload } from '@ragmesh/contracts';
import { Embedder } from '../src/common/embedder';
import { RetrievalMetrics } from '../src/common/metrics';
import { DocumentEvents } from '../src/documents/document-events';
import type { ChunkRecord, ChunkWithDocument, DocumentRecord, DocumentSummary } from '../src/documents/document.model';
import { DocumentsRepository } from '../src/documents/documents.repository';

/** The PostgreSQL repository's behaviour, in memory: replace is all-or-nothing. */
export class InMemoryDocumentsRepository extends DocumentsRepository {
  readonly documents = new Map<string, DocumentRecord>();
  readonly chunks = new Map<string, ChunkRecord>();
  readonly updatedAt = new Map<string, Date>();
  failNextWrite: Error | undefined;
  /** Fails the batch write when it reaches this document id (after writing the ones before it). */
  failBatchAt: string | undefined;

  async replaceDocument(document: DocumentRecord, chunks: ChunkRecord[]): Promise<{ replaced: boolean }> {
    this.throwIfFailing();
    return this.write(document, chunks);
  }

  async replaceDocuments(batch: { document: DocumentRecord; chunks: ChunkRecord[] }[]): Promise<{ replaced: boolean }[]> {
    this.throwIfFailing();
    // A transaction: on failure, restore what was there before.
    const documents = new Map(this.documents);
    const chunks = new Map(this.chunks);
    const updatedAt = new Map(this.updatedAt);
    try {
      return batch.map(({ document, chunks: docChunks }) => {
        if (document.id === this.failBatchAt) throw new Error(`write of ${document.id} failed`);
        return this.write(document, docChunks);
      });
    } catch (err) {
      for (const [target, saved] of [
        [this.documents, documents],
        [this.chunks, chunks],
        [this.updatedAt, updatedAt],
      ] as [Map<string, unknown>, Map<string, unknown>][]) {
        target.clear();
        for (const [k, v] of saved) target.set(k, v);
      }
      throw err;
    }
  }

  async listDocuments(afterId: string | null, limit: number, collection: string): Promise<DocumentSummary[]> {
    return [...this.documents.values()]
      .filter((d) => (afterId === null || d.id > afterId) && (collection === '' || d.collection === collection))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit)
      .map((d) => ({
        id: d.id,
        title: d.title,
        collection: d.collection,
        metadata: d.metadata,
        publishedAt: d.publishedAt,
        updatedAt: this.updatedAt.get(d.id) ?? new Date(0),
        chunkCount: this.chunksOf(d.id).length,
      }));
  }

  private write(document: DocumentRecord, chunks: ChunkRecord[]): { replaced: boolean } {
    const replaced = this.documents.has(document.id);
    for (const [id, chunk] of this.chunks) if (chunk.documentId === document.id) this.chunks.delete(id);
    this.documents.set(document.id, { ...document });
    for (const chunk of chunks) this.chunks.set(chunk.id, { ...chunk });
    this.updatedAt.set(document.id, new Date());
    return { replaced };
  }

  async deleteDocument(id: string): Promise<boolean> {
    this.throwIfFailing();
    if (!this.documents.delete(id)) return false;
    for (const [chunkId, chunk] of this.chunks) if (chunk.documentId === id) this.chunks.delete(chunkId);
    return true;
  }

  async findChunk(chunkId: string): Promise<ChunkWithDocument | null> {
    const chunk = this.chunks.get(chunkId);
    return chunk === undefined ? null : this.join(chunk);
  }

  async findDocumentChunks(documentId: string): Promise<ChunkWithDocument[]> {
    return [...this.chunks.values()]
      .filter((c) => c.documentId === documentId)
      .sort((a, b) => a.chunkIndex - b.chunkIndex)
      .map((c) => this.join(c));
  }

  async listChunks(afterChunkId: string | null, limit: number): Promise<ChunkWithDocument[]> {
    return [...this.chunks.values()]
      .filter((c) => afterChunkId === null || c.id > afterChunkId)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit)
      .map((c) => this.join(c));
  }

  chunksOf(documentId: string): ChunkRecord[] {
    return [...this.chunks.values()].filter((c) => c.documentId === documentId).sort((a, b) => a.chunkIndex - b.chunkIndex);
  }

  private join(chunk: ChunkRecord): ChunkWithDocument {
    const doc = this.documents.get(chunk.documentId);
    if (doc === undefined) throw new Error(`orphan chunk ${chunk.id}`);
    return {
      chunkId: chunk.id,
      documentId: chunk.documentId,
      chunkIndex: chunk.chunkIndex,
      text: chunk.text,
      heading: chunk.heading,
      embedding: chunk.embedding,
      title: doc.title,
      collection: doc.collection,
      publishedAt: doc.publishedAt,
      documentMetadata: doc.metadata,
    };
  }

  private throwIfFailing(): void {
    const err = this.failNextWrite;
    this.failNextWrite = undefined;
    if (err !== undefined) throw err;
  }
}

export type RecordedEvent =
  | { type: 'document.ingested'; payload: MessagePayload<'document.ingested'> }
  | { type: 'document.deleted'; payload: MessagePayload<'document.deleted'> };

export class RecordingDocumentEvents extends DocumentEvents {
  readonly published: RecordedEvent[] = [];
  failWith: Error | undefined;

  async ingested(payload: MessagePayload<'document.ingested'>): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.published.push({ type: 'document.ingested', payload });
  }

  async deleted(payload: MessagePayload<'document.deleted'>): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.published.push({ type: 'document.deleted', payload });
  }
}

export class RecordingMetrics extends RetrievalMetrics {
  ingested = { created: 0, replaced: 0 };
  deleted = 0;
  size = { documents: 0, chunks: 0 };
  searches: number[] = [];
  publishFailures: string[] = [];

  documentIngested(replaced: boolean): void {
    if (replaced) this.ingested.replaced += 1;
    else this.ingested.created += 1;
  }

  documentDeleted(): void {
    this.deleted += 1;
  }

  indexSize(documents: number, chunks: number): void {
    this.size = { documents, chunks };
  }

  searchCompleted(seconds: number): void {
    this.searches.push(seconds);
  }

  eventPublishFailed(type: string): void {
    this.publishFailures.push(type);
  }
}

/** Vectors chosen by the test: the first registered substring found in the text decides. */
export class TableEmbedder extends Embedder {
  readonly name = 'table-embedder';
  constructor(
    readonly dimensions: number,
    private readonly table: [string, number[]][],
  ) {
    super();
  }

  embed(text: string): number[] {
    for (const [needle, vector] of this.table) if (text.includes(needle)) return vector;
    return new Array<number>(this.dimensions).fill(0);
  }
}

export const TEST_SEARCH_SETTINGS: SearchSettings = { bm25Weight: 0.6, method: 'minmax', candidates: 100 };

/** The use-cases wired as the module wires them, with in-memory adapters. */
export function buildHarness(opts: { embedder?: Embedder; search?: Partial<SearchSettings>; maxTokens?: number } = {}) {
  const repository = new InMemoryDocumentsRepository();
  const events = new RecordingDocumentEvents();
  const metrics = new RecordingMetrics();
  const index = new SearchIndex();
  const locks = new KeyedLock();
  const embedder = opts.embedder ?? new HashingEmbedder();
  const chunking = { maxTokens: opts.maxTokens ?? 200, overlapTokens: 20 };
  return {
    repository,
    events,
    metrics,
    index,
    ingest: new IngestDocumentUseCase(repository, index, embedder, events, metrics, locks, chunking),
    ingestBatch: new IngestDocumentsUseCase(repository, index, embedder, events, metrics, locks, chunking),
    list: new ListDocumentsUseCase(repository),
    remove: new DeleteDocumentUseCase(repository, index, events, metrics, locks),
    getChunk: new GetChunkUseCase(repository),
    search: new SearchUseCase(index, embedder, metrics, { ...TEST_SEARCH_SETTINGS, ...opts.search }),
  };
}
