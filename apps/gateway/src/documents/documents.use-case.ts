import { Injectable } from '@nestjs/common';
import { NotFound } from '../http/api-error';
import { RetrievalRepository } from '../grpc/retrieval.repository';

export interface IngestDocumentCommand {
  id?: string;
  title: string;
  content: string;
  format: 'markdown' | 'text';
  metadata: Record<string, string>;
  publishedAt?: string;
  collection?: string;
}

export interface IngestedDocument {
  documentId: string;
  chunkCount: number;
  replaced: boolean;
}

@Injectable()
export class DocumentsUseCase {
  constructor(private readonly retrieval: RetrievalRepository) {}

  async ingest(cmd: IngestDocumentCommand): Promise<IngestedDocument> {
    const res = await this.retrieval.ingest({
      id: cmd.id ?? '',
      title: cmd.title,
      content: cmd.content,
      format: cmd.format,
      metadata: cmd.metadata,
      publishedAt: cmd.publishedAt ?? '',
      collection: cmd.collection ?? '',
    });
    return { documentId: res.documentId, chunkCount: res.chunkCount, replaced: res.replaced };
  }

  async delete(id: string): Promise<void> {
    const res = await this.retrieval.delete(id);
    if (!res.deleted) throw new NotFound(`document ${id} not found`);
  }
}
