import type { ChunkRecord, ChunkWithDocument, DocumentRecord, DocumentSummary } from './document.model';

/** PostgreSQL behind an injectable port, so use-cases can be tested with an in-memory fake. */
export abstract class DocumentsRepository {
  /** In one transaction: upsert the document and replace all its chunks. */
  abstract replaceDocument(document: DocumentRecord, chunks: ChunkRecord[]): Promise<{ replaced: boolean }>;
  /** In one transaction, for each entry in order: upsert the document and replace its chunks. */
  abstract replaceDocuments(batch: { document: DocumentRecord; chunks: ChunkRecord[] }[]): Promise<{ replaced: boolean }[]>;
  /** Keyset pages over documents ordered by id (after `afterId`), optionally of one collection. */
  abstract listDocuments(afterId: string | null, limit: number, collection: string): Promise<DocumentSummary[]>;
  /** Deletes the document and (by cascade) its chunks; false when it did not exist. */
  abstract deleteDocument(id: string): Promise<boolean>;
  abstract findChunk(chunkId: string): Promise<ChunkWithDocument | null>;
  abstract findDocumentChunks(documentId: string): Promise<ChunkWithDocument[]>;
  /** Keyset pages over every chunk ordered by id, for building the index at start. */
  abstract listChunks(afterChunkId: string | null, limit: number): Promise<ChunkWithDocument[]>;
}
