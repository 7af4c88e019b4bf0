import { Injectable } from '@nestjs/common';
import { GenerationRepository, type ModelInfo } from '../grpc/generation.repository';

@Injectable()
export class ModelsUseCase {
  constructor(private readonly generation: GenerationRepository) {}

  list(): Promise<ModelInfo[]> {
    return this.generation.listModels();
  }
}
