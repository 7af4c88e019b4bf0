import type { ChunkRecord, ChunkWithDocument, DocumentRecord, DocumentSummary } from './document.model';

/** How many chunks' served vectors each model made. */
export interface EmbeddingModelCount {
  model: string;
  chunks: number;
}

/** A chunk's vector by the next model, with the text it was made from (the write is skipped if that changed). */
export interface NextEmbedding {
  chunkId: string;
  title: string;
  text: string;
  vector: number[];
}

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
  /** Served-vector models with their chunk counts, most chunks first. */
  abstract embeddingModelCounts(): Promise<EmbeddingModelCount[]>;
  /** Keyset pages over chunks with neither vector by `model`. */
  abstract listChunksToReembed(model: string, afterChunkId: string | null, limit: number): Promise<ChunkWithDocument[]>;
  /** Stores next-model vectors of chunks whose title and text are unchanged; returns the chunk ids written. */
  abstract storeNextEmbeddings(model: string, vectors: NextEmbedding[]): Promise<string[]>;
  abstract findChunks(chunkIds: string[]): Promise<ChunkWithDocument[]>;
  /** In one statement: every chunk with a `model` next vector serves it from now on; returns how many. */
  abstract promoteNextEmbeddings(model: string): Promise<number>;
}
