import { Inject, Injectable } from '@nestjs/common';
import { generation, GENERATION_SERVICE_CLIENT, GrpcDeadlines, unary } from '@ragmesh/contracts';
import { outgoingMetadata } from '@ragmesh/observability';

export type SummarizeRequest = generation.SummarizeRequest;
export type SummarizeResponse = generation.SummarizeResponse;

/** The generation proxy's Summarize as the use-case sees it; errors are grpc-js errors carrying `code`. */
export abstract class GenerationRepository {
  abstract summarize(request: SummarizeRequest): Promise<SummarizeResponse>;
}

@Injectable()
export class GrpcGenerationRepository extends GenerationRepository {
  constructor(@Inject(GENERATION_SERVICE_CLIENT) private readonly client: generation.GenerationServiceClient) {
    super();
  }

  summarize(request: SummarizeRequest): Promise<SummarizeResponse> {
    return unary(this.client.summarize.bind(this.client), request, outgoingMetadata(), GrpcDeadlines.summarize);
  }
}
