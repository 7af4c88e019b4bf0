import { Injectable, Logger } from '@nestjs/common';
import { Embedder } from '../common/embedder';
import { RetrievalMetrics } from '../common/metrics';
import { type ChunkWithDocument, indexedText } from '../documents/document.model';
import { DocumentsRepository } from '../documents/documents.repository';
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
    private readonly embedder: Embedder,
    private readonly metrics: RetrievalMetrics,
  ) {}

  async load(): Promise<void> {
    const started = Date.now();
    let after: string | null = null;
    let reembedded = 0;
    for (;;) {
      const page: ChunkWithDocument[] = await this.documents.listChunks(after, INDEX_LOAD_PAGE_SIZE);
      for (const chunk of page) {
        const fresh = this.withCurrentEmbedding(chunk);
        if (fresh !== chunk) reembedded += 1;
        this.index.addChunk(fresh);
      }
      if (page.length < INDEX_LOAD_PAGE_SIZE) break;
      after = page[page.length - 1].chunkId;
    }
    this.metrics.indexSize(this.index.documentCount, this.index.chunkCount);
    this.logger.log(
      `index built: ${this.index.documentCount} documents, ${this.index.chunkCount} chunks` +
        `${reembedded > 0 ? `, ${reembedded} re-embedded` : ''} in ${Date.now() - started} ms`,
    );
  }

  /** Replaces the document's entries with its committed state (none → removed). */
  async reloadDocument(documentId: string): Promise<void> {
    const chunks = await this.documents.findDocumentChunks(documentId);
    this.index.replaceDocument(
      documentId,
      chunks.map((chunk) => this.withCurrentEmbedding(chunk)),
    );
    this.metrics.indexSize(this.index.documentCount, this.index.chunkCount);
  }

  /** Vectors stored by an embedder of another size cannot be compared: embed the text again. */
  private withCurrentEmbedding(chunk: ChunkWithDocument): ChunkWithDocument {
    if (chunk.embedding.length === this.embedder.dimensions) return chunk;
    return { ...chunk, embedding: this.embedder.embed(indexedText(chunk.title, chunk.text)) };
  }
}
