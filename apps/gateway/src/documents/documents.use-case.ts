import { HttpStatus, Injectable } from '@nestjs/common';
import { ApiError, NotFound } from '../http/api-error';
import { RetrievalRepository } from '../grpc/retrieval.repository';
import { DocumentOwnersRepository, TENANT_METADATA_KEY } from './document-owners.repository';

export interface IngestDocumentCommand {
  id?: string;
  title: string;
  content: string;
  format: 'markdown' | 'text';
  metadata: Record<string, string>;
  publishedAt?: string;
  collection?: string;
  /** The API key's tenant: it owns the document; another tenant's id is refused. */
  tenant: string;
}

export interface IngestedDocument {
  documentId: string;
  chunkCount: number;
  replaced: boolean;
}

@Injectable()
export class DocumentsUseCase {
  constructor(
    private readonly retrieval: RetrievalRepository,
    private readonly owners: DocumentOwnersRepository,
  ) {}

  async ingest(cmd: IngestDocumentCommand): Promise<IngestedDocument> {
    const claim = cmd.id === undefined ? undefined : await this.owners.claim(cmd.id, cmd.tenant);
    if (claim === 'taken') throw new ApiError(HttpStatus.CONFLICT, `document id ${cmd.id} is already in use`);
    try {
      return await this.ingestOwned(cmd);
    } catch (err) {
      // A refused ingest leaves no owner row behind.
      if (claim === 'new' && cmd.id !== undefined) await this.owners.release(cmd.id);
      throw err;
    }
  }

  private async ingestOwned(cmd: IngestDocumentCommand): Promise<IngestedDocument> {
    const res = await this.retrieval.ingest({
      id: cmd.id ?? '',
      title: cmd.title,
      content: cmd.content,
      format: cmd.format,
      // Retrieval knows no tenants: the tenant rides in the metadata, and every search filters on it.
      metadata: { ...cmd.metadata, [TENANT_METADATA_KEY]: cmd.tenant },
      publishedAt: cmd.publishedAt ?? '',
      collection: cmd.collection ?? '',
    });
    if (cmd.id === undefined) await this.owners.claim(res.documentId, cmd.tenant);
    return { documentId: res.documentId, chunkCount: res.chunkCount, replaced: res.replaced };
  }

  async delete(id: string, tenant: string): Promise<void> {
    if ((await this.owners.ownerOf(id)) !== tenant) throw new NotFound(`document ${id} not found`);
    const res = await this.retrieval.delete(id);
    if (!res.deleted) throw new NotFound(`document ${id} not found`);
    await this.owners.release(id);
  }
}
