import { Injectable, Logger } from '@nestjs/common';
import { RetrievalMetrics } from '../common/metrics';
import { type ChunkWithDocument, indexedText, vectorBy } from '../documents/document.model';
import { DocumentsRepository } from '../documents/documents.repository';
import { EmbeddingModels } from '../embedding/embedding-models';
import { SearchIndex } from './search-index';

// Bounded pages keep start-up memory flat however large the table grows.
export const INDEX_LOAD_PAGE_SIZE = 1_000;

/**
 * Builds this replica's in-memory index from PostgreSQL; the bootstrap calls it before the
 * gRPC port opens (not a lifecycle hook: Nest microservices run onModuleInit twice).
 */
@Injectable()
export class IndexLoader {
  private readonly logger = new Logger(IndexLoader.name);

  constructor(
    private readonly documents: DocumentsRepository,
    private readonly index: SearchIndex,
    private readonly models: EmbeddingModels,
    private readonly metrics: RetrievalMetrics,
  ) {}

  /**
   * Serves the model most stored vectors were made by (so a changed configuration never
   * leaves the index without vectors: the re-embedder switches later); when this replica
   * cannot run that model, the configured one serves and the vectors are made here and now.
   */
  async load(): Promise<void> {
    const started = Date.now();
    const stored = (await this.documents.embeddingModelCounts())[0]?.model;
    if (stored !== undefined && !this.models.serveFrom(stored)) {
      this.logger.warn(`stored vectors are by ${stored}, which this replica cannot run: embedding with ${this.models.target.name} at load`);
    }
    this.index.useModel(this.models.serving.name);
    const next = this.models.next;
    if (next !== undefined) this.index.startNext(next.name);

    let after: string | null = null;
    let embedded = 0;
    for (;;) {
      const page: ChunkWithDocument[] = await this.documents.listChunks(after, INDEX_LOAD_PAGE_SIZE);
      const ready = await this.withServedVectors(page);
      for (let i = 0; i < page.length; i += 1) {
        if (ready[i] !== page[i]) embedded += 1;
        this.index.addChunk(ready[i]);
      }
      if (page.length < INDEX_LOAD_PAGE_SIZE) break;
      after = page[page.length - 1].chunkId;
    }
    this.metrics.indexSize(this.index.documentCount, this.index.chunkCount);
    this.logger.log(
      `index built: ${this.index.documentCount} documents, ${this.index.chunkCount} chunks by ${this.index.model}` +
        `${embedded > 0 ? `, ${embedded} embedded at load` : ''}${next !== undefined ? `; re-embedding to ${next.name} in the background` : ''}` +
        ` in ${Date.now() - started} ms`,
    );
  }

  /** Replaces the document's entries with its committed state (none → removed). */
  async reloadDocument(documentId: string): Promise<void> {
    const chunks = await this.documents.findDocumentChunks(documentId);
    this.index.replaceDocument(documentId, await this.withServedVectors(chunks));
    this.metrics.indexSize(this.index.documentCount, this.index.chunkCount);
  }

  /**
   * The chunks, each with a vector by the model the index serves: one written by a replica
   * serving another model is embedded here. Repeated if the index switched models meanwhile.
   */
  private async withServedVectors(chunks: ChunkWithDocument[]): Promise<ChunkWithDocument[]> {
    if (this.index.model === '') this.index.useModel(this.models.serving.name);
    for (;;) {
      const model = this.index.model;
      const ready = await this.embedMissing(chunks, model);
      if (this.index.model === model) return ready;
    }
  }

  private async embedMissing(chunks: ChunkWithDocument[], model: string): Promise<ChunkWithDocument[]> {
    const missing = chunks.filter((chunk) => vectorBy(chunk, model) === undefined);
    if (missing.length === 0) return chunks;
    const embedder = this.models.embedderFor(model);
    if (embedder === undefined) throw new Error(`no embedder for the served model ${model}`);
    const vectors = await embedder.embed(missing.map((chunk) => indexedText(chunk.title, chunk.text)));
    const byId = new Map(missing.map((chunk, i) => [chunk.chunkId, vectors[i]]));
    const nextModel = this.index.nextModel;
    return chunks.map((chunk) => {
      const embedding = byId.get(chunk.chunkId);
      if (embedding === undefined) return chunk;
      // Keep the next model's vector if the chunk came with one (e.g. promoted by another replica).
      const next = nextModel === undefined ? undefined : vectorBy(chunk, nextModel);
      return {
        ...chunk,
        embedding,
        embeddingModel: model,
        nextEmbedding: next ?? null,
        nextEmbeddingModel: next === undefined ? null : (nextModel ?? null),
      };
    });
  }
}
