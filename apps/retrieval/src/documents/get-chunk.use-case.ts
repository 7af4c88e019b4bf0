import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { NotFoundError, parseCommand } from '../common/errors';
import { visibleMetadata } from './document.model';
import { DocumentsRepository } from './documents.repository';

const MAX_CHUNK_ID_CHARS = 200;

export const getChunkCommandSchema = z.object({
  chunkId: z
    .string({ required_error: 'is required' })
    .trim()
    .min(1, 'must not be empty')
    .max(MAX_CHUNK_ID_CHARS, `must be at most ${MAX_CHUNK_ID_CHARS} characters`),
});

export type GetChunkCommand = z.input<typeof getChunkCommandSchema>;

export interface ChunkView {
  chunkId: string;
  documentId: string;
  title: string;
  text: string;
  chunkIndex: number;
  metadata: Record<string, string>;
}

/** Reads from PostgreSQL, the source of truth, so a chunk cited earlier is found on any replica. */
@Injectable()
export class GetChunkUseCase {
  constructor(private readonly documents: DocumentsRepository) {}

  async execute(input: GetChunkCommand): Promise<ChunkView> {
    const { chunkId } = parseCommand(getChunkCommandSchema, input);
    const chunk = await this.documents.findChunk(chunkId);
    if (chunk === null) throw new NotFoundError(`chunk ${chunkId} not found`);
    return {
      chunkId: chunk.chunkId,
      documentId: chunk.documentId,
      title: chunk.title,
      text: chunk.text,
      chunkIndex: chunk.chunkIndex,
      metadata: visibleMetadata(chunk),
    };
  }
}
