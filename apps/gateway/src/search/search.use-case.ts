import { Injectable } from '@nestjs/common';
import { RetrievalRepository } from '../grpc/retrieval.repository';

export interface SearchCommand {
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

@Injectable()
export class SearchUseCase {
  constructor(private readonly retrieval: RetrievalRepository) {}

  async execute(cmd: SearchCommand): Promise<{ results: SearchHit[]; tookMs: number }> {
    const res = await this.retrieval.search({ query: cmd.query, topK: cmd.topK, filters: cmd.filters, collection: cmd.collection ?? '' });
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
    };
  }
}
