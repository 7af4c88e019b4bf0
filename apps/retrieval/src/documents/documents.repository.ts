import type { ChunkRecord, ChunkWithDocument, DocumentRecord } from './document.model';

/** PostgreSQL behind an injectable port, so use-cases can be tested with an in-memory fake. */
export abstract class DocumentsRepository {
  /** In one transaction: upsert the document and replace all its chunks. */
  abstract replaceDocument(document: DocumentRecord, chunks: ChunkRecord[]): Promise<{ replaced: boolean }>;
  /** Deletes the document and (by cascade) its chunks; false when it did not exist. */
  abstract deleteDocument(id: string): Promise<boolean>;
  abstract findChunk(chunkId: string): Promise<ChunkWithDocument | null>;
  abstract findDocumentChunks(documentId: string): Promise<ChunkWithDocument[]>;
  /** Keyset pages over every chunk ordered by id, for building the index at start. */
  abstract listChunks(afterChunkId: string | null, limit: number): Promise<ChunkWithDocument[]>;
}
