import { Inject, Injectable } from '@nestjs/common';
import { generation, GENERATION_SERVICE_CLIENT, GrpcDeadlines, unary } from '@ragmesh/contracts';
import { outgoingMetadata } from '@ragmesh/observability';

export type GenerateRequest = generation.GenerateRequest;
export type GenerateResponse = generation.GenerateResponse;

/** The generation proxy's Generate as the use-case sees it; errors are grpc-js errors carrying `code`. */
export abstract class GenerationRepository {
  abstract generate(request: GenerateRequest): Promise<GenerateResponse>;
}

@Injectable()
export class GrpcGenerationRepository extends GenerationRepository {
  constructor(@Inject(GENERATION_SERVICE_CLIENT) private readonly client: generation.GenerationServiceClient) {
    super();
  }

  generate(request: GenerateRequest): Promise<GenerateResponse> {
    return unary(this.client.generate.bind(this.client), request, outgoingMetadata(), GrpcDeadlines.generate);
  }
}
