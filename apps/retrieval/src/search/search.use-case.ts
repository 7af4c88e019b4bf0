import { Inject, Injectable } from '@nestjs/common';
import { searchTokens } from '@ragmesh/text';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { dot, Embedder } from '../common/embedder';
import { parseCommand } from '../common/errors';
import { RetrievalMetrics } from '../common/metrics';
import { collectionName, stringMap } from '../common/schemas';
import { SEARCH_SETTINGS, type SearchSettings } from '../common/settings';
import { type Candidate, fuse } from './fusion';
import { type IndexedChunk, SearchIndex } from './search-index';

export const MAX_QUERY_CHARS = 2_000;
export const DEFAULT_TOP_K = 5;
export const MAX_TOP_K = 50;

export const searchCommandSchema = z.object({
  query: z
    .string({ required_error: 'is required' })
    .trim()
    .min(1, 'must not be empty')
    .max(MAX_QUERY_CHARS, `must be at most ${MAX_QUERY_CHARS} characters`),
  // proto3 sends 0 when the caller leaves top_k unset.
  topK: z
    .number()
    .int('must be an integer')
    .default(0)
    .transform((k) => (k === 0 ? DEFAULT_TOP_K : k))
    .pipe(z.number().min(1, 'must be between 1 and 50').max(MAX_TOP_K, `must be between 1 and ${MAX_TOP_K}`)),
  collection: collectionName,
  filters: stringMap,
});

export type SearchCommand = z.input<typeof searchCommandSchema>;

export interface SearchHit {
  chunkId: string;
  documentId: string;
  title: string;
  text: string;
  chunkIndex: number;
  score: number;
  bm25: number;
  dense: number;
  metadata: Record<string, string>;
}

export interface SearchResult {
  results: SearchHit[];
  tookMs: number;
}

function topBy<T>(items: T[], score: (item: T) => number, limit: number): T[] {
  return [...items].sort((a, b) => score(b) - score(a)).slice(0, limit);
}

/**
 * Hybrid search: BM25 and dense candidates (each cut after filtering, so filters never starve
 * the result), scores min-max scaled over the candidate set and fused.
 */
@Injectable()
export class SearchUseCase {
  constructor(
    private readonly index: SearchIndex,
    private readonly embedder: Embedder,
    private readonly metrics: RetrievalMetrics,
    @Inject(SEARCH_SETTINGS) private readonly settings: SearchSettings,
  ) {}

  async execute(input: SearchCommand): Promise<SearchResult> {
    const started = performance.now();
    const command = parseCommand(searchCommandSchema, input);
    const filters = Object.entries(command.filters);
    const accepts = (chunk: IndexedChunk): boolean =>
      (command.collection === '' || chunk.collection === command.collection) &&
      filters.every(([key, value]) => chunk.metadata[key] === value);

    const bm25Scores = new Map<string, number>();
    for (const hit of this.index.bm25Matches(searchTokens(command.query))) {
      const chunk = this.index.get(hit.id);
      if (chunk !== undefined && accepts(chunk)) bm25Scores.set(hit.id, hit.score);
    }

    const queryVector = this.embedder.embed(command.query);
    const denseScores = new Map<string, number>();
    for (const chunk of this.index.all()) {
      if (accepts(chunk)) denseScores.set(chunk.chunkId, dot(queryVector, chunk.vector));
    }

    const limit = this.settings.candidates;
    // bm25Matches is already best first.
    const ids = new Set<string>([...bm25Scores.keys()].slice(0, limit));
    for (const [id] of topBy([...denseScores], ([, score]) => score, limit)) ids.add(id);

    const candidates: Candidate[] = [...ids].map((id) => ({
      id,
      bm25: bm25Scores.get(id) ?? 0,
      dense: denseScores.get(id) ?? 0,
    }));
    const fused = fuse(candidates, { method: this.settings.method, bm25Weight: this.settings.bm25Weight });

    const results: SearchHit[] = [];
    for (const hit of fused.slice(0, command.topK)) {
      const chunk = this.index.get(hit.id);
      if (chunk === undefined) continue;
      results.push({
        chunkId: chunk.chunkId,
        documentId: chunk.documentId,
        title: chunk.title,
        text: chunk.text,
        chunkIndex: chunk.chunkIndex,
        score: hit.score,
        bm25: hit.bm25,
        dense: hit.dense,
        metadata: chunk.metadata,
      });
    }
    const tookMs = performance.now() - started;
    this.metrics.searchCompleted(tookMs / 1000);
    return { results, tookMs };
  }
}
