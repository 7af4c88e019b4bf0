import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { InvalidArgumentError, parseCommand } from '../common/errors';
import { collectionName } from '../common/schemas';
import { DocumentsRepository } from './documents.repository';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
const MAX_PAGE_TOKEN_CHARS = 1_024;

export const listDocumentsCommandSchema = z.object({
  // proto3 sends 0 when page_size is unset.
  pageSize: z
    .number()
    .int('must be an integer')
    .default(0)
    .transform((n) => (n === 0 ? DEFAULT_PAGE_SIZE : n))
    .pipe(z.number().min(1, `must be between 1 and ${MAX_PAGE_SIZE}`).max(MAX_PAGE_SIZE, `must be between 1 and ${MAX_PAGE_SIZE}`)),
  pageToken: z.string().trim().max(MAX_PAGE_TOKEN_CHARS, 'is not a page token from this service').default(''),
  collection: collectionName,
});

export type ListDocumentsCommand = z.input<typeof listDocumentsCommandSchema>;

export interface DocumentSummaryView {
  id: string;
  title: string;
  collection: string;
  publishedAt: string;
  chunkCount: number;
  updatedAt: string;
  metadata: Record<string, string>;
}

export interface ListDocumentsResult {
  documents: DocumentSummaryView[];
  nextPageToken: string;
}

/** The cursor names the last id seen and the collection it was issued for (a token is not reusable across filters). */
const cursorSchema = z.object({ after: z.string().min(1), collection: z.string() });
type Cursor = z.infer<typeof cursorSchema>;

export const encodePageToken = (cursor: Cursor): string => Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');

function decodePageToken(token: string, collection: string): string | null {
  if (token === '') return null;
  let cursor: Cursor;
  try {
    cursor = cursorSchema.parse(JSON.parse(Buffer.from(token, 'base64url').toString('utf8')));
  } catch {
    throw new InvalidArgumentError('page_token', 'is not a page token from this service');
  }
  if (cursor.collection !== collection) throw new InvalidArgumentError('page_token', 'was issued for another collection');
  return cursor.after;
}

/** Keyset paging by id: stable under concurrent ingests (no row is skipped or repeated by an insert elsewhere). */
@Injectable()
export class ListDocumentsUseCase {
  constructor(private readonly documents: DocumentsRepository) {}

  async execute(input: ListDocumentsCommand): Promise<ListDocumentsResult> {
    const command = parseCommand(listDocumentsCommandSchema, input);
    const after = decodePageToken(command.pageToken, command.collection);
    // One extra row tells whether another page exists without a count query.
    const rows = await this.documents.listDocuments(after, command.pageSize + 1, command.collection);
    const page = rows.slice(0, command.pageSize);
    const last = page.at(-1);
    return {
      documents: page.map((d) => ({
        id: d.id,
        title: d.title,
        collection: d.collection,
        publishedAt: d.publishedAt === null ? '' : d.publishedAt.toISOString(),
        chunkCount: d.chunkCount,
        updatedAt: d.updatedAt.toISOString(),
        metadata: d.metadata,
      })),
      nextPageToken: rows.length > command.pageSize && last !== undefined ? encodePageToken({ after: last.id, collection: command.collection }) : '',
    };
  }
}
