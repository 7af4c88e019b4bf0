import { Controller, Get, Query } from '@nestjs/common';
import { ok, parseOr400 } from '../http/envelope';
import { modelsQuery } from '../training/training.schemas';
import { ModelStatusUseCase } from './model-status.use-case';
import { modelStatusJson } from './model-status.views';

@Controller('v1/admin/models')
export class ModelsHttpController {
  constructor(private readonly status: ModelStatusUseCase) {}

  /** Per model and adapter on each upstream, plus the embedding models. */
  @Get()
  async list(@Query() query: unknown) {
    const q = parseOr400(modelsQuery, query, 'query');
    const models = await this.status.list(q.model);
    return ok(`${models.length} model entries`, { models: models.map(modelStatusJson) });
  }
}
