import { Inject, Injectable } from '@nestjs/common';
import { generation, GENERATION_SERVICE_CLIENT, GrpcDeadlines, serverStream, unary } from '@ragmesh/contracts';
import { outgoingMetadata } from '@ragmesh/observability';
import type { Observable } from 'rxjs';

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
export class GrpcGenerationRepository extends GenerationRepository {
  constructor(@Inject(GENERATION_SERVICE_CLIENT) private readonly client: generation.GenerationServiceClient) {
    super();
  }

  generateStream(request: GenerateRequest): Observable<GenerateChunk> {
    return serverStream(this.client.generateStream.bind(this.client), request, outgoingMetadata(), GrpcDeadlines.generate);
  }

  async listModels(): Promise<ModelInfo[]> {
    const response = await unary(this.client.listModels.bind(this.client), {}, outgoingMetadata(), LIST_MODELS_DEADLINE_MS);
    return response.models ?? [];
  }
}
