import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { Tenant } from '../auth/principal';
import { RequireScope } from '../auth/scopes.decorator';
import { TENANT_METADATA_KEY } from '../documents/document-owners.repository';
import { ok, type Envelope } from '../http/envelope';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import type { TimeRangeOutcome } from './search-options';
import { searchSchema, type SearchBody } from './search.schema';
import { SearchHit, SearchUseCase } from './search.use-case';

export interface SearchData {
  results: SearchHit[];
  took_ms: number;
  time_range?: TimeRangeOutcome;
}

@Controller('v1/search')
@RequireScope('chat')
export class SearchController {
  constructor(private readonly search: SearchUseCase) {}

  @Post()
  @HttpCode(HttpStatus.OK)
  async execute(@Body(new ZodValidationPipe(searchSchema)) body: SearchBody, @Tenant() tenant: string): Promise<Envelope<SearchData>> {
    const res = await this.search.execute({
      query: body.query,
      topK: body.top_k,
      // Only the caller's tenant's documents (a `tenant` filter from the caller cannot widen that).
      filters: { ...body.filters, [TENANT_METADATA_KEY]: tenant },
      collection: body.collection,
      timeAnchor: body.time_anchor,
      timeRangeMonths: body.time_range_months,
      minCandidates: body.min_candidates,
      fusion: body.fusion,
      bm25Weight: body.bm25_weight,
    });
    const data: SearchData = { results: res.results, took_ms: res.tookMs };
    if (res.timeRange) data.time_range = res.timeRange;
    return ok(`${res.results.length} results`, data);
  }
}
