import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ok, type Envelope } from '../http/envelope';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { searchSchema, type SearchBody } from './search.schema';
import { SearchHit, SearchUseCase } from './search.use-case';

@Controller('v1/search')
export class SearchController {
  constructor(private readonly search: SearchUseCase) {}

  @Post()
  @HttpCode(HttpStatus.OK)
  async execute(@Body(new ZodValidationPipe(searchSchema)) body: SearchBody): Promise<Envelope<{ results: SearchHit[]; took_ms: number }>> {
    const res = await this.search.execute({ query: body.query, topK: body.top_k, filters: body.filters, collection: body.collection });
    return ok(`${res.results.length} results`, { results: res.results, took_ms: res.tookMs });
  }
}
