import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { NotFoundError, parseCommand } from '../common/errors';
import { KeyedLock } from '../common/keyed-lock';
import { RetrievalMetrics } from '../common/metrics';
import { SearchIndex } from '../search/search-index';
import { DocumentEvents } from './document-events';
import { DocumentsRepository } from './documents.repository';
import { documentIdSchema } from './ingest-document.use-case';
import { publishAfterCommit } from './publish-after-commit';

export const deleteCommandSchema = z.object({
  id: z.string({ required_error: 'is required' }).trim().min(1, 'must not be empty').pipe(documentIdSchema),
});

export type DeleteCommand = z.input<typeof deleteCommandSchema>;

@Injectable()
export class DeleteDocumentUseCase {
  constructor(
    private readonly documents: DocumentsRepository,
    private readonly index: SearchIndex,
    private readonly events: DocumentEvents,
    private readonly metrics: RetrievalMetrics,
    private readonly locks: KeyedLock,
  ) {}

  async execute(input: DeleteCommand): Promise<{ documentId: string; deleted: boolean }> {
    const { id } = parseCommand(deleteCommandSchema, input);
    await this.locks.run(id, async () => {
      if (!(await this.documents.deleteDocument(id))) throw new NotFoundError(`document ${id} not found`);
      this.index.removeDocument(id);
    });
    this.metrics.documentDeleted();
    this.metrics.indexSize(this.index.documentCount, this.index.chunkCount);
    await publishAfterCommit('document.deleted', id, this.metrics, () => this.events.deleted({ documentId: id }));
    return { documentId: id, deleted: true };
  }
}
