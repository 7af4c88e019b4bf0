import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { ClientGrpc } from '@nestjs/microservices';
import { generation, GrpcDeadlines, serverStream, unary } from '@ragmesh/contracts';
import { outgoingMetadata } from '@ragmesh/observability';
import type { Observable } from 'rxjs';
import { GENERATION_CLIENT } from './tokens';

/** Listing models is a cheap metadata call; it should answer as fast as a search. */
const LIST_MODELS_DEADLINE_MS = GrpcDeadlines.search;

export type GenerateRequest = generation.GenerateRequest;
export type GenerateChunk = generation.GenerateChunk;
export type ModelInfo = generation.ModelInfo;

/** The generation proxy as the use-cases see it. Unsubscribing from `generateStream` cancels the call upstream. */
export abstract class GenerationRepository {
  abstract generateStream(request: GenerateRequest): Observable<GenerateChunk>;
  abstract listModels(): Promise<ModelInfo[]>;
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

  generateStream(request: GenerateRequest): Observable<GenerateChunk> {
    return serverStream(this.client.generateStream.bind(this.client), request, outgoingMetadata(), GrpcDeadlines.generate);
  }

  async listModels(): Promise<ModelInfo[]> {
    const response = await unary(this.client.listModels.bind(this.client), {}, outgoingMetadata(), LIST_MODELS_DEADLINE_MS);
    return response.models ?? [];
  }
}
