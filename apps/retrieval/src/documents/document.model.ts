export const DOCUMENT_FORMATS = ['markdown', 'text'] as const;
export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

export interface DocumentRecord {
  id: string;
  title: string;
  format: DocumentFormat;
  content: string;
  collection: string;
  metadata: Record<string, string>;
  publishedAt: Date | null;
  contentHash: string;
}

export interface ChunkRecord {
  id: string;
  documentId: string;
  chunkIndex: number;
  text: string;
  heading: string | null;
  tokenCount: number;
  embedding: number[];
  metadata: Record<string, string>;
}

/** A stored document as listed: no content, its chunk count. */
export interface DocumentSummary {
  id: string;
  title: string;
  collection: string;
  metadata: Record<string, string>;
  publishedAt: Date | null;
  updatedAt: Date;
  chunkCount: number;
}

/** A chunk with what search and GetChunk need from its document. */
export interface ChunkWithDocument {
  chunkId: string;
  documentId: string;
  chunkIndex: number;
  text: string;
  heading: string | null;
  embedding: number[];
  title: string;
  collection: string;
  publishedAt: Date | null;
  documentMetadata: Record<string, string>;
}

export const chunkIdOf = (documentId: string, chunkIndex: number): string => `${documentId}#${chunkIndex}`;

/**
 * The metadata a caller sees (and filters on) for a chunk: the document's own metadata plus
 * the service's fields. The service's keys win, so a caller cannot spoof the collection.
 */
export function visibleMetadata(chunk: ChunkWithDocument): Record<string, string> {
  const metadata: Record<string, string> = { ...chunk.documentMetadata };
  if (chunk.collection !== '') metadata.collection = chunk.collection;
  if (chunk.publishedAt !== null) metadata.published_at = chunk.publishedAt.toISOString();
  if (chunk.heading !== null && chunk.heading !== '') metadata.heading = chunk.heading;
  return metadata;
}

/** Text that BM25 and the embedder see: the title makes a chunk findable by its document's name. */
export const indexedText = (title: string, text: string): string => (title === '' ? text : `${title}\n${text}`);
