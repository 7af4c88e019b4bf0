import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { ClientGrpc } from '@nestjs/microservices';
import { GrpcDeadlines, retrieval, unary } from '@ragmesh/contracts';
import { outgoingMetadata } from '@ragmesh/observability';
import { RETRIEVAL_CLIENT } from './tokens';

export type IngestDocumentRequest = retrieval.IngestDocumentRequest;
export type IngestDocumentResponse = retrieval.IngestDocumentResponse;
export type SearchRequest = retrieval.SearchRequest;
export type ScoredChunk = retrieval.ScoredChunk;

/** The retrieval service as the use-cases see it. */
export abstract class RetrievalRepository {
  abstract ingest(request: IngestDocumentRequest): Promise<IngestDocumentResponse>;
  abstract delete(id: string): Promise<{ documentId: string; deleted: boolean }>;
  abstract search(request: SearchRequest): Promise<{ results: ScoredChunk[]; tookMs: number }>;
}

@Injectable()
export class GrpcRetrievalRepository extends RetrievalRepository implements OnModuleInit {
  private client!: retrieval.RetrievalServiceClient;

  constructor(@Inject(RETRIEVAL_CLIENT) private readonly grpc: ClientGrpc) {
    super();
  }

  onModuleInit(): void {
    this.client = this.grpc.getService<retrieval.RetrievalServiceClient>(retrieval.RETRIEVAL_SERVICE_NAME);
  }

  ingest(request: IngestDocumentRequest): Promise<IngestDocumentResponse> {
    return unary(this.client.ingestDocument.bind(this.client), request, outgoingMetadata(), GrpcDeadlines.ingest);
  }

  delete(id: string): Promise<{ documentId: string; deleted: boolean }> {
    return unary(this.client.deleteDocument.bind(this.client), { id }, outgoingMetadata(), GrpcDeadlines.ingest);
  }

  search(request: SearchRequest): Promise<{ results: ScoredChunk[]; tookMs: number }> {
    return unary(this.client.search.bind(this.client), request, outgoingMetadata(), GrpcDeadlines.search);
  }
}
