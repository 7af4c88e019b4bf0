import { Body, Controller, Delete, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { Tenant } from '../auth/principal';
import { RequireScope } from '../auth/scopes.decorator';
import { ok, type Envelope } from '../http/envelope';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { documentIdSchema, ingestDocumentSchema, type IngestDocumentBody } from './documents.schema';
import { DocumentsUseCase } from './documents.use-case';

@Controller('v1/documents')
@RequireScope('documents')
export class DocumentsController {
  constructor(private readonly documents: DocumentsUseCase) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  async ingest(
    @Body(new ZodValidationPipe(ingestDocumentSchema)) body: IngestDocumentBody,
    @Tenant() tenant: string,
  ): Promise<Envelope<{ document_id: string; chunk_count: number; replaced: boolean }>> {
    const res = await this.documents.ingest({
      id: body.id,
      title: body.title,
      content: body.content,
      format: body.format,
      metadata: body.metadata,
      publishedAt: body.published_at,
      collection: body.collection,
      tenant,
    });
    return ok(res.replaced ? 'document replaced' : 'document ingested', {
      document_id: res.documentId,
      chunk_count: res.chunkCount,
      replaced: res.replaced,
    });
  }

  @Delete(':id')
  async remove(
    @Param('id', new ZodValidationPipe(documentIdSchema, ['id'])) id: string,
    @Tenant() tenant: string,
  ): Promise<Envelope<{ document_id: string; deleted: true }>> {
    await this.documents.delete(id, tenant);
    return ok('document deleted', { document_id: id, deleted: true });
  }
}
