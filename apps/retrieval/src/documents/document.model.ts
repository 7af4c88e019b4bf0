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

/**
 * The vectors stored with a chunk: `embedding` by `embeddingModel` (the model it is served
 * with), and while the configured model changes, `nextEmbedding` by `nextEmbeddingModel`
 * (made in the background; promoted to `embedding` once every chunk has one).
 */
export interface ChunkVectors {
  embedding: number[];
  embeddingModel: string;
  nextEmbedding: number[] | null;
  nextEmbeddingModel: string | null;
}

/** The chunk's vector by this model, if it has one. */
export function vectorBy(chunk: ChunkVectors, model: string): number[] | undefined {
  if (chunk.embeddingModel === model) return chunk.embedding;
  if (chunk.nextEmbeddingModel === model && chunk.nextEmbedding !== null) return chunk.nextEmbedding;
  return undefined;
}

export interface ChunkRecord extends ChunkVectors {
  id: string;
  documentId: string;
  chunkIndex: number;
  text: string;
  heading: string | null;
  tokenCount: number;
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
export interface ChunkWithDocument extends ChunkVectors {
  chunkId: string;
  documentId: string;
  chunkIndex: number;
  text: string;
  heading: string | null;
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
