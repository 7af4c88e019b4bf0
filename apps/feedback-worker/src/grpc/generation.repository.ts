import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { ClientGrpc } from '@nestjs/microservices';
import { generation, GrpcDeadlines, unary } from '@ragmesh/contracts';
import { outgoingMetadata } from '@ragmesh/observability';
import { GENERATION_CLIENT } from './tokens';

export type GenerateRequest = generation.GenerateRequest;
export type GenerateResponse = generation.GenerateResponse;

/** The generation proxy's Generate as the use-case sees it; errors are grpc-js errors carrying `code`. */
export abstract class GenerationRepository {
  abstract generate(request: GenerateRequest): Promise<GenerateResponse>;
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

  generate(request: GenerateRequest): Promise<GenerateResponse> {
    return unary(this.client.generate.bind(this.client), request, outgoingMetadata(), GrpcDeadlines.generate);
  }
}
