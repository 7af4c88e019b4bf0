import { Inject, Injectable } from '@nestjs/common';
import { chunkText } from '@ragmesh/text';
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Embedder } from '../common/embedder';
import { InvalidArgumentError, parseCommand } from '../common/errors';
import { KeyedLock } from '../common/keyed-lock';
import { RetrievalMetrics } from '../common/metrics';
import { collectionName, stringMap } from '../common/schemas';
import { CHUNKING_SETTINGS, type ChunkingSettings } from '../common/settings';
import { SearchIndex } from '../search/search-index';
import { DocumentEvents } from './document-events';
import { type ChunkRecord, chunkIdOf, type ChunkWithDocument, DOCUMENT_FORMATS, type DocumentRecord, indexedText } from './document.model';
import { DocumentsRepository } from './documents.repository';
import { publishAfterCommit } from './publish-after-commit';

export const MAX_CONTENT_BYTES = 1024 * 1024;
export const MAX_TITLE_CHARS = 500;
// No '#': chunk ids are `${documentId}#${index}` and must split back unambiguously.
export const DOCUMENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const DEFAULT_FORMAT = 'text';
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

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
    .refine((d) => d === '' || (ISO_DATE.test(d) && !Number.isNaN(Date.parse(d))), 'must be an ISO-8601 date or empty')
    .transform((d) => (d === '' ? null : new Date(d))),
  collection: collectionName,
});

export type IngestCommand = z.input<typeof ingestCommandSchema>;

export interface IngestResult {
  documentId: string;
  chunkCount: number;
  replaced: boolean;
}

/** Chunk, embed, replace the document and its chunks in one transaction, index, announce. */
@Injectable()
export class IngestDocumentUseCase {
  constructor(
    private readonly documents: DocumentsRepository,
    private readonly index: SearchIndex,
    private readonly embedder: Embedder,
    private readonly events: DocumentEvents,
    private readonly metrics: RetrievalMetrics,
    private readonly locks: KeyedLock,
    @Inject(CHUNKING_SETTINGS) private readonly chunking: ChunkingSettings,
  ) {}

  async execute(input: IngestCommand): Promise<IngestResult> {
    const command = parseCommand(ingestCommandSchema, input);
    const documentId = command.id === '' ? randomUUID() : command.id;

    const pieces = chunkText(command.content, {
      maxTokens: this.chunking.maxTokens,
      overlapTokens: this.chunking.overlapTokens,
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
    const chunks: ChunkRecord[] = pieces.map((piece) => ({
      id: chunkIdOf(documentId, piece.index),
      documentId,
      chunkIndex: piece.index,
      text: piece.text,
      heading: piece.heading ?? null,
      tokenCount: piece.tokenCount,
      embedding: this.embedder.embed(indexedText(command.title, piece.text)),
      metadata: { embedder: this.embedder.name },
    }));

    const { replaced } = await this.locks.run(documentId, async () => {
      const outcome = await this.documents.replaceDocument(document, chunks);
      this.index.replaceDocument(documentId, chunks.map((chunk): ChunkWithDocument => ({
        chunkId: chunk.id,
        documentId,
        chunkIndex: chunk.chunkIndex,
        text: chunk.text,
        heading: chunk.heading,
        embedding: chunk.embedding,
        title: document.title,
        collection: document.collection,
        publishedAt: document.publishedAt,
        documentMetadata: document.metadata,
      })));
      return outcome;
    });
    this.metrics.documentIngested(replaced);
    this.metrics.indexSize(this.index.documentCount, this.index.chunkCount);

    await publishAfterCommit('document.ingested', documentId, this.metrics, () =>
      this.events.ingested({
        documentId,
        title: document.title,
        chunkCount: chunks.length,
        replaced,
        collection: document.collection,
      }),
    );
    return { documentId, chunkCount: chunks.length, replaced };
  }
}
