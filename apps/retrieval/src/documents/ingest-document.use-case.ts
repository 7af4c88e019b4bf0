import { Inject, Injectable } from '@nestjs/common';
import { type Chunk, chunkText } from '@ragmesh/text';
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { InvalidArgumentError, parseCommand, UnavailableError } from '../common/errors';
import { KeyedLock } from '../common/keyed-lock';
import { RetrievalMetrics } from '../common/metrics';
import { collectionName, isIsoDate, stringMap } from '../common/schemas';
import { CHUNKING_SETTINGS, type ChunkingSettings } from '../common/settings';
import { EmbeddingModels } from '../embedding/embedding-models';
import { SearchIndex } from '../search/search-index';
import { DocumentEvents } from './document-events';
import { type ChunkRecord, type ChunkVectors, chunkIdOf, type ChunkWithDocument, DOCUMENT_FORMATS, type DocumentRecord, indexedText } from './document.model';
import { DocumentsRepository } from './documents.repository';
import { publishAfterCommit } from './publish-after-commit';

export const MAX_CONTENT_BYTES = 1024 * 1024;
export const MAX_TITLE_CHARS = 500;
// No '#': chunk ids are `${documentId}#${index}` and must split back unambiguously.
export const DOCUMENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const DEFAULT_FORMAT = 'text';

export const documentIdSchema = z
  .string()
  .trim()
  .regex(DOCUMENT_ID_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -');

export const ingestCommandSchema = z.object({
  // proto3 sends '' for an unset id: a new one is assigned.
  id: z
    .string()
    .trim()
    .default('')
    .pipe(z.union([z.literal(''), documentIdSchema])),
  title: z.string().trim().max(MAX_TITLE_CHARS, `must be at most ${MAX_TITLE_CHARS} characters`).default(''),
  content: z
    .string({ required_error: 'is required' })
    .refine((c) => c.trim() !== '', 'must not be empty')
    .refine((c) => Buffer.byteLength(c, 'utf8') <= MAX_CONTENT_BYTES, `must be at most ${MAX_CONTENT_BYTES} bytes (1 MiB)`),
  format: z
    .string()
    .trim()
    .default('')
    .transform((f) => (f === '' ? DEFAULT_FORMAT : f.toLowerCase()))
    .pipe(z.enum(DOCUMENT_FORMATS, { errorMap: () => ({ message: `must be one of ${DOCUMENT_FORMATS.join(', ')}` }) })),
  metadata: stringMap,
  publishedAt: z
    .string()
    .trim()
    .default('')
    .refine((d) => d === '' || isIsoDate(d), 'must be an ISO-8601 date or empty')
    .transform((d) => (d === '' ? null : new Date(d))),
  collection: collectionName,
});

export type IngestCommand = z.input<typeof ingestCommandSchema>;

export interface IngestResult {
  documentId: string;
  chunkCount: number;
  replaced: boolean;
}

/** A validated document, chunked and embedded, ready to be written. */
export interface PreparedDocument {
  document: DocumentRecord;
  chunks: ChunkRecord[];
}

/** A validated document and its chunks, not yet embedded. */
export interface ChunkedDocument {
  document: DocumentRecord;
  pieces: Chunk[];
}

/**
 * Validates and chunks a document; throws InvalidArgumentError when nothing indexable is left.
 * Pure work before any write, so a batch can check every document before touching storage.
 */
export function chunkDocument(input: IngestCommand, chunking: ChunkingSettings): ChunkedDocument {
  const command = parseCommand(ingestCommandSchema, input);
  const documentId = command.id === '' ? randomUUID() : command.id;
  const pieces = chunkText(command.content, {
    maxTokens: chunking.maxTokens,
    overlapTokens: chunking.overlapTokens,
    format: command.format,
  });
  if (pieces.length === 0) throw new InvalidArgumentError('content', 'has no indexable text');
  const document: DocumentRecord = {
    id: documentId,
    title: command.title,
    format: command.format,
    content: command.content,
    collection: command.collection,
    metadata: command.metadata,
    publishedAt: command.publishedAt,
    contentHash: createHash('sha256').update(command.content).digest('hex'),
  };
  return { document, pieces };
}

/**
 * Embeds the chunks of every document in one call (an upstream gets whole batches); an
 * upstream failure is UNAVAILABLE (nothing was written, the call can be retried).
 */
export async function embedDocuments(docs: ChunkedDocument[], models: EmbeddingModels): Promise<PreparedDocument[]> {
  const texts = docs.flatMap(({ document, pieces }) => pieces.map((piece) => indexedText(document.title, piece.text)));
  let vectors: ChunkVectors[];
  try {
    vectors = await models.vectorsFor(texts);
  } catch (err) {
    throw new UnavailableError(`embedding failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  let next = 0;
  return docs.map(({ document, pieces }) => ({
    document,
    chunks: pieces.map((piece) => ({
      id: chunkIdOf(document.id, piece.index),
      documentId: document.id,
      chunkIndex: piece.index,
      text: piece.text,
      heading: piece.heading ?? null,
      tokenCount: piece.tokenCount,
      ...vectors[next++],
      metadata: {},
    })),
  }));
}

/** What the index holds for a freshly written document. */
export function indexedChunks({ document, chunks }: PreparedDocument): ChunkWithDocument[] {
  return chunks.map((chunk) => ({
    chunkId: chunk.id,
    documentId: document.id,
    chunkIndex: chunk.chunkIndex,
    text: chunk.text,
    heading: chunk.heading,
    embedding: chunk.embedding,
    embeddingModel: chunk.embeddingModel,
    nextEmbedding: chunk.nextEmbedding,
    nextEmbeddingModel: chunk.nextEmbeddingModel,
    title: document.title,
    collection: document.collection,
    publishedAt: document.publishedAt,
    documentMetadata: document.metadata,
  }));
}

/** Announces a committed ingest; throws UnavailableError when the event cannot be published. */
export function announceIngested(
  events: DocumentEvents,
  metrics: RetrievalMetrics,
  { document, chunks }: PreparedDocument,
  replaced: boolean,
): Promise<void> {
  return publishAfterCommit('document.ingested', document.id, metrics, () =>
    events.ingested({
      documentId: document.id,
      title: document.title,
      chunkCount: chunks.length,
      replaced,
      collection: document.collection,
    }),
  );
}

/** Chunk, embed, replace the document and its chunks in one transaction, index, announce. */
@Injectable()
export class IngestDocumentUseCase {
  constructor(
    private readonly documents: DocumentsRepository,
    private readonly index: SearchIndex,
    private readonly models: EmbeddingModels,
    private readonly events: DocumentEvents,
    private readonly metrics: RetrievalMetrics,
    private readonly locks: KeyedLock,
    @Inject(CHUNKING_SETTINGS) private readonly chunking: ChunkingSettings,
  ) {}

  async execute(input: IngestCommand): Promise<IngestResult> {
    const [prepared] = await embedDocuments([chunkDocument(input, this.chunking)], this.models);
    const { document, chunks } = prepared;
    const { replaced } = await this.locks.run(document.id, async () => {
      const outcome = await this.documents.replaceDocument(document, chunks);
      this.index.replaceDocument(document.id, indexedChunks(prepared));
      return outcome;
    });
    this.metrics.documentIngested(replaced);
    this.metrics.indexSize(this.index.documentCount, this.index.chunkCount);
    await announceIngested(this.events, this.metrics, prepared, replaced);
    return { documentId: document.id, chunkCount: chunks.length, replaced };
  }
}
