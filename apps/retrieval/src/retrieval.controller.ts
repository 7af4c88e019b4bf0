import { Controller, UseInterceptors } from '@nestjs/common';
import { retrieval } from '@ragmesh/contracts';
import { GrpcCorrelationInterceptor } from '@ragmesh/observability';
import { grpcCall } from './common/grpc-errors';
import { DeleteDocumentUseCase } from './documents/delete-document.use-case';
import { GetChunkUseCase } from './documents/get-chunk.use-case';
import { IngestDocumentUseCase } from './documents/ingest-document.use-case';
import { IngestDocumentsUseCase } from './documents/ingest-documents.use-case';
import { ListDocumentsUseCase } from './documents/list-documents.use-case';
import { SearchUseCase } from './search/search.use-case';

/** gRPC transport only: each method hands the request to one use-case and maps its errors. */
@Controller()
@UseInterceptors(GrpcCorrelationInterceptor)
@retrieval.RetrievalServiceControllerMethods()
export class RetrievalController implements retrieval.RetrievalServiceController {
  constructor(
    private readonly ingest: IngestDocumentUseCase,
    private readonly remove: DeleteDocumentUseCase,
    private readonly searchChunks: SearchUseCase,
    private readonly chunks: GetChunkUseCase,
    private readonly list: ListDocumentsUseCase,
    private readonly ingestBatch: IngestDocumentsUseCase,
  ) {}

  ingestDocument(request: retrieval.IngestDocumentRequest): Promise<retrieval.IngestDocumentResponse> {
    return grpcCall(() => this.ingest.execute(request));
  }

  deleteDocument(request: retrieval.DeleteDocumentRequest): Promise<retrieval.DeleteDocumentResponse> {
    return grpcCall(() => this.remove.execute(request));
  }

  search(request: retrieval.SearchRequest): Promise<retrieval.SearchResponse> {
    return grpcCall(() => this.searchChunks.execute(request));
  }

  getChunk(request: retrieval.GetChunkRequest): Promise<retrieval.Chunk> {
    return grpcCall(() => this.chunks.execute(request));
  }

  listDocuments(request: retrieval.ListDocumentsRequest): Promise<retrieval.ListDocumentsResponse> {
    return grpcCall(() => this.list.execute(request));
  }

  ingestDocuments(request: retrieval.IngestDocumentsRequest): Promise<retrieval.IngestDocumentsResponse> {
    return grpcCall(() => this.ingestBatch.execute(request));
  }
}
