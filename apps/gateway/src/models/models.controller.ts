import { Controller, Get } from '@nestjs/common';
import { RequireScope } from '../auth/scopes.decorator';
import { ModelsUseCase } from './models.use-case';

/** OpenAI's model list; `created` is unknown for upstream models and reported as 0. */
export interface OpenAiModelList {
  object: 'list';
  data: { id: string; object: 'model'; created: number; owned_by: string; upstream?: string; kind?: string }[];
}

@Controller('v1/models')
@RequireScope('chat')
export class ModelsController {
  constructor(private readonly models: ModelsUseCase) {}

  @Get()
  async list(): Promise<OpenAiModelList> {
    const models = await this.models.list();
    return {
      object: 'list',
      data: models.map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: m.ownedBy || 'ragmesh', upstream: m.upstream, kind: m.kind })),
    };
  }
}
