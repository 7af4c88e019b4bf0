import { Inject, Injectable } from '@nestjs/common';
import { GrpcDeadlines, retrieval, RETRIEVAL_SERVICE_CLIENT, unary } from '@ragmesh/contracts';
import { outgoingMetadata } from '@ragmesh/observability';

export type IngestDocumentRequest = retrieval.IngestDocumentRequest;
export type IngestDocumentResponse = retrieval.IngestDocumentResponse;
export type SearchRequest = retrieval.SearchRequest;
export type ScoredChunk = retrieval.ScoredChunk;
export type SearchResponse = retrieval.SearchResponse;

/** The retrieval service as the use-cases see it. */
export abstract class RetrievalRepository {
  abstract ingest(request: IngestDocumentRequest): Promise<IngestDocumentResponse>;
  abstract delete(id: string): Promise<{ documentId: string; deleted: boolean }>;
  abstract search(request: SearchRequest): Promise<SearchResponse>;
}

@Injectable()
export class GrpcRetrievalRepository extends RetrievalRepository {
  constructor(@Inject(RETRIEVAL_SERVICE_CLIENT) private readonly client: retrieval.RetrievalServiceClient) {
    super();
  }

  ingest(request: IngestDocumentRequest): Promise<IngestDocumentResponse> {
    return unary(this.client.ingestDocument.bind(this.client), request, outgoingMetadata(), GrpcDeadlines.ingest);
  }

  delete(id: string): Promise<{ documentId: string; deleted: boolean }> {
    return unary(this.client.deleteDocument.bind(this.client), { id }, outgoingMetadata(), GrpcDeadlines.ingest);
  }

  search(request: SearchRequest): Promise<SearchResponse> {
    return unary(this.client.search.bind(this.client), request, outgoingMetadata(), GrpcDeadlines.search);
  }
}
