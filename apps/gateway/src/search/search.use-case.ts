import { Injectable } from '@nestjs/common';
import { RetrievalRepository } from '../grpc/retrieval.repository';
import { searchOptionFields, type SearchOptions, type TimeRangeOutcome, timeRangeOutcome } from './search-options';

export interface SearchCommand extends SearchOptions {
  query: string;
  topK: number;
  filters: Record<string, string>;
  collection?: string;
}

export interface SearchHit {
  chunk_id: string;
  document_id: string;
  title: string;
  text: string;
  chunk_index: number;
  score: number;
  bm25: number;
  dense: number;
  metadata: Record<string, string>;
}

export interface SearchOutcome {
  results: SearchHit[];
  tookMs: number;
  /** Only when a time window was asked for: which window retrieval ended up searching. */
  timeRange?: TimeRangeOutcome;
}

@Injectable()
export class SearchUseCase {
  constructor(private readonly retrieval: RetrievalRepository) {}

  async execute(cmd: SearchCommand): Promise<SearchOutcome> {
    const res = await this.retrieval.search({
      query: cmd.query,
      topK: cmd.topK,
      filters: cmd.filters,
      collection: cmd.collection ?? '',
      ...searchOptionFields(cmd),
    });
    return {
      tookMs: res.tookMs,
      results: res.results.map((r) => ({
        chunk_id: r.chunkId,
        document_id: r.documentId,
        title: r.title,
        text: r.text,
        chunk_index: r.chunkIndex,
        score: r.score,
        bm25: r.bm25,
        dense: r.dense,
        metadata: r.metadata ?? {},
      })),
      ...(cmd.timeRangeMonths !== undefined ? { timeRange: timeRangeOutcome(res) } : {}),
    };
  }
}
