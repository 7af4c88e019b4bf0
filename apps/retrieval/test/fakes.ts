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
import { Embedder, LocalHashingEmbedder } from '../src/common/embedder';
import { EmbeddingModels } from '../src/embedding/embedding-models';
import { RetrievalMetrics, type StageSeconds } from '../src/common/metrics';
import { DocumentEvents } from '../src/documents/document-events';
import { type ChunkRecord, type ChunkWithDocument, type DocumentRecord, type DocumentSummary, vectorBy } from '../src/documents/document.model';
import { DocumentsRepository, type EmbeddingModelCount, type NextEmbedding } from '../src/documents/documents.repository';

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

  async embeddingModelCounts(): Promise<EmbeddingModelCount[]> {
    const counts = new Map<string, number>();
    for (const chunk of this.chunks.values()) counts.set(chunk.embeddingModel, (counts.get(chunk.embeddingModel) ?? 0) + 1);
    return [...counts].map(([model, chunks]) => ({ model, chunks })).sort((a, b) => b.chunks - a.chunks || (a.model < b.model ? -1 : 1));
  }

  async listChunksToReembed(model: string, afterChunkId: string | null, limit: number): Promise<ChunkWithDocument[]> {
    return (await this.listChunks(afterChunkId, Number.MAX_SAFE_INTEGER))
      .filter((c) => c.embeddingModel !== model && c.nextEmbeddingModel !== model)
      .slice(0, limit);
  }

  async storeNextEmbeddings(model: string, vectors: NextEmbedding[]): Promise<string[]> {
    const written: string[] = [];
    for (const v of vectors) {
      const chunk = this.chunks.get(v.chunkId);
      const doc = chunk === undefined ? undefined : this.documents.get(chunk.documentId);
      if (chunk === undefined || chunk.text !== v.text || doc?.title !== v.title || chunk.embeddingModel === model) continue;
      this.chunks.set(v.chunkId, { ...chunk, nextEmbedding: v.vector, nextEmbeddingModel: model });
      written.push(v.chunkId);
    }
    return written;
  }

  async findChunks(chunkIds: string[]): Promise<ChunkWithDocument[]> {
    return chunkIds.flatMap((id) => {
      const chunk = this.chunks.get(id);
      return chunk === undefined ? [] : [this.join(chunk)];
    });
  }

  async promoteNextEmbeddings(model: string): Promise<number> {
    let promoted = 0;
    for (const [id, chunk] of this.chunks) {
      const next = vectorBy(chunk, model);
      if (chunk.embeddingModel === model || next === undefined) continue;
      this.chunks.set(id, { ...chunk, embedding: next, embeddingModel: model, nextEmbedding: null, nextEmbeddingModel: null });
      promoted += 1;
    }
    return promoted;
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
      embeddingModel: chunk.embeddingModel,
      nextEmbedding: chunk.nextEmbedding,
      nextEmbeddingModel: chunk.nextEmbeddingModel,
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

  stages: StageSeconds[] = [];

  searchCompleted(seconds: number, stages: StageSeconds): void {
    this.searches.push(seconds);
    this.stages.push(stages);
  }

  eventPublishFailed(type: string): void {
    this.publishFailures.push(type);
  }

  queryEmbeddingFailures = 0;
  reembedded = 0;

  queryEmbeddingFailed(): void {
    this.queryEmbeddingFailures += 1;
  }

  chunksReembedded(count: number): void {
    this.reembedded += count;
  }
}

/** Vectors chosen by the test: the first registered substring found in the text decides. */
export class TableEmbedder extends Embedder {
  constructor(
    readonly dimensions: number,
    private readonly table: [string, number[]][],
    readonly name = 'table-embedder',
  ) {
    super();
  }

  embed(texts: string[]): Promise<number[][]> {
    return Promise.resolve(texts.map((text) => this.embedOne(text)));
  }

  private embedOne(text: string): number[] {
    for (const [needle, vector] of this.table) if (text.includes(needle)) return vector;
    return new Array<number>(this.dimensions).fill(0);
  }
}

/** Models resolved by name from the given embedders (the first is the configured target). */
export function modelsOf(target: Embedder, ...others: Embedder[]): EmbeddingModels {
  const byName = new Map([target, ...others].map((e) => [e.name, e]));
  return new EmbeddingModels(target, (model) => byName.get(model));
}

export const TEST_SEARCH_SETTINGS: SearchSettings = { bm25Weight: 0.6, method: 'minmax', candidates: 100 };

/** The use-cases wired as the module wires them, with in-memory adapters. */
export interface HarnessOptions {
  embedder?: Embedder;
  models?: EmbeddingModels;
  search?: Partial<SearchSettings>;
  maxTokens?: number;
  /** Another replica's store, to share it. */
  repository?: InMemoryDocumentsRepository;
  index?: SearchIndex;
}

export function buildHarness(opts: HarnessOptions = {}) {
  const repository = opts.repository ?? new InMemoryDocumentsRepository();
  const events = new RecordingDocumentEvents();
  const metrics = new RecordingMetrics();
  const index = opts.index ?? new SearchIndex();
  const locks = new KeyedLock();
  const models = opts.models ?? modelsOf(opts.embedder ?? new LocalHashingEmbedder());
  const chunking = { maxTokens: opts.maxTokens ?? 200, overlapTokens: 20 };
  return {
    repository,
    events,
    metrics,
    index,
    models,
    ingest: new IngestDocumentUseCase(repository, index, models, events, metrics, locks, chunking),
    ingestBatch: new IngestDocumentsUseCase(repository, index, models, events, metrics, locks, chunking),
    list: new ListDocumentsUseCase(repository),
    remove: new DeleteDocumentUseCase(repository, index, events, metrics, locks),
    getChunk: new GetChunkUseCase(repository),
    search: new SearchUseCase(index, models, metrics, { ...TEST_SEARCH_SETTINGS, ...opts.search }),
  };
}
