import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { ClientGrpc } from '@nestjs/microservices';
import { generation, GrpcDeadlines, unary } from '@ragmesh/contracts';
import { outgoingMetadata } from '@ragmesh/observability';
import { GENERATION_CLIENT } from './tokens';

export type SummarizeRequest = generation.SummarizeRequest;
export type SummarizeResponse = generation.SummarizeResponse;

/** The generation proxy's Summarize as the use-case sees it; errors are grpc-js errors carrying `code`. */
export abstract class GenerationRepository {
  abstract summarize(request: SummarizeRequest): Promise<SummarizeResponse>;
}

@Injectable()
export class GrpcGenerationRepository extends GenerationRepository implements OnModuleInit {
  private client!: generation.GenerationServiceClient;

  constructor(@Inject(GENERATION_CLIENT) private readonly grpc: ClientGrpc) {
    super();
  }

  onModuleInit(): void {
    this.client = this.grpc.getService<generation.GenerationServiceClient>(generation.GENERATION_SERVICE_NAME);
  }

  summarize(request: SummarizeRequest): Promise<SummarizeResponse> {
    return unary(this.client.summarize.bind(this.client), request, outgoingMetadata(), GrpcDeadlines.summarize);
  }
}
