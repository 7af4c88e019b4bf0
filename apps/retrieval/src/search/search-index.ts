import { Injectable } from '@nestjs/common';
import { Bm25Index, searchTokens } from '@ragmesh/text';
import { type ChunkWithDocument, indexedText, visibleMetadata } from '../documents/document.model';

export interface IndexedChunk {
  chunkId: string;
  documentId: string;
  chunkIndex: number;
  title: string;
  text: string;
  collection: string;
  /** What callers see and filter on (document metadata + collection, published_at, heading). */
  metadata: Record<string, string>;
  /** Float32 halves the memory of a number[] and is exact enough for cosine ranking. */
  vector: Float32Array;
}

/**
 * The in-memory hybrid index of this replica: BM25 postings plus one dense vector per chunk.
 * PostgreSQL is the source of truth; this is rebuilt from it at start.
 */
@Injectable()
export class SearchIndex {
  private readonly bm25 = new Bm25Index();
  private readonly chunks = new Map<string, IndexedChunk>();
  private readonly chunkIdsByDocument = new Map<string, string[]>();

  get chunkCount(): number {
    return this.chunks.size;
  }

  get documentCount(): number {
    return this.chunkIdsByDocument.size;
  }

  /** Replaces everything indexed for the document with these chunks (empty → removed). */
  replaceDocument(documentId: string, chunks: ChunkWithDocument[]): void {
    this.removeDocument(documentId);
    if (chunks.length === 0) return;
    for (const chunk of chunks) this.addChunk(chunk);
    this.chunkIdsByDocument.set(
      documentId,
      chunks.map((c) => c.chunkId),
    );
  }

  /** Adds one chunk while loading; its document's list grows as chunks arrive in any order. */
  addChunk(chunk: ChunkWithDocument): void {
    if (this.chunks.has(chunk.chunkId)) this.bm25.remove(chunk.chunkId);
    this.bm25.add(chunk.chunkId, searchTokens(indexedText(chunk.title, chunk.text)));
    this.chunks.set(chunk.chunkId, {
      chunkId: chunk.chunkId,
      documentId: chunk.documentId,
      chunkIndex: chunk.chunkIndex,
      title: chunk.title,
      text: chunk.text,
      collection: chunk.collection,
      metadata: visibleMetadata(chunk),
      vector: Float32Array.from(chunk.embedding),
    });
    const ids = this.chunkIdsByDocument.get(chunk.documentId);
    if (ids === undefined) this.chunkIdsByDocument.set(chunk.documentId, [chunk.chunkId]);
    else if (!ids.includes(chunk.chunkId)) ids.push(chunk.chunkId);
  }

  removeDocument(documentId: string): boolean {
    const ids = this.chunkIdsByDocument.get(documentId);
    if (ids === undefined) return false;
    for (const id of ids) {
      this.bm25.remove(id);
      this.chunks.delete(id);
    }
    this.chunkIdsByDocument.delete(documentId);
    return true;
  }

  get(chunkId: string): IndexedChunk | undefined {
    return this.chunks.get(chunkId);
  }

  /** Every BM25 match, best first (filters are applied by the caller before the cut). */
  bm25Matches(queryTokens: string[]): { id: string; score: number }[] {
    if (queryTokens.length === 0 || this.chunks.size === 0) return [];
    return this.bm25.search(queryTokens, this.chunks.size);
  }

  all(): IterableIterator<IndexedChunk> {
    return this.chunks.values();
  }
}
