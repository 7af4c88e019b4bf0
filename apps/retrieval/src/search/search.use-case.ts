import { Inject, Injectable, Logger } from '@nestjs/common';
import { queryTermWeights, searchTokens } from '@ragmesh/text';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { parseCommand } from '../common/errors';
import { RetrievalMetrics, type StageSeconds } from '../common/metrics';
import { collectionName, isIsoDate, stringMap } from '../common/schemas';
import { SEARCH_SETTINGS, type SearchSettings } from '../common/settings';
import { FUSION_METHODS } from '../config';
import { EmbeddingModels, type QueryVector } from '../embedding/embedding-models';
import { type Candidate, fuse } from './fusion';
import { type IndexedChunk, SearchIndex } from './search-index';
import { topK } from './top-k';
import { chooseTimeWindow, DEFAULT_MIN_CANDIDATES, type TimeWindowChoice } from './time-window';

export const MAX_QUERY_CHARS = 2_000;
export const DEFAULT_TOP_K = 5;
export const MAX_TOP_K = 50;
/** 100 years: anything wider is no filter at all. */
export const MAX_TIME_RANGE_MONTHS = 1_200;
export const MAX_MIN_CANDIDATES = 100;
/**
 * A chunk without a shared BM25 term still counts toward the time window's minimum when its
 * cosine with the query reaches this: unrelated texts sit near 0 with the hashing embedder.
 */
export const DENSE_MATCH_MIN_COSINE = 0.2;

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
  // The fields below are proto3 `optional`: undefined when the caller did not set them.
  timeAnchor: z
    .string()
    .trim()
    .optional()
    .refine((d) => d === undefined || d === '' || isIsoDate(d), 'must be an ISO-8601 date or empty')
    .transform((d) => (d === undefined || d === '' ? undefined : new Date(d))),
  timeRangeMonths: z
    .number()
    .int('must be an integer')
    .min(0, `must be between 0 and ${MAX_TIME_RANGE_MONTHS}`)
    .max(MAX_TIME_RANGE_MONTHS, `must be between 0 and ${MAX_TIME_RANGE_MONTHS}`)
    .optional()
    .transform((m) => m ?? 0),
  minCandidates: z
    .number()
    .int('must be an integer')
    .min(0, `must be between 1 and ${MAX_MIN_CANDIDATES} (0 = ${DEFAULT_MIN_CANDIDATES})`)
    .max(MAX_MIN_CANDIDATES, `must be between 1 and ${MAX_MIN_CANDIDATES} (0 = ${DEFAULT_MIN_CANDIDATES})`)
    .optional()
    .transform((m) => (m === undefined || m === 0 ? DEFAULT_MIN_CANDIDATES : m)),
  fusion: z
    .string()
    .trim()
    .optional()
    .transform((f) => (f === undefined || f === '' ? undefined : f.toLowerCase()))
    .pipe(z.enum(FUSION_METHODS, { errorMap: () => ({ message: `must be one of ${FUSION_METHODS.join(', ')} or empty` }) }).optional()),
  bm25Weight: z
    .number({ invalid_type_error: 'must be a number between 0 and 1' })
    .min(0, 'must be between 0 and 1')
    .max(1, 'must be between 0 and 1')
    .optional(),
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
  /** Months of the time window searched; 0 = no time filter. */
  timeRangeMonthsUsed: number;
  timeRangeWidened: boolean;
  timeRangeExhausted: boolean;
  /** The embedding model whose vectors scored `dense`; '' when the query could not be embedded (BM25 only). */
  embeddingModel: string;
}

/**
 * Hybrid search: BM25 and dense candidates (each cut after filtering, so filters never starve
 * the result), scores min-max scaled over the candidate set and fused.
 */
@Injectable()
export class SearchUseCase {
  private readonly logger = new Logger(SearchUseCase.name);

  constructor(
    private readonly index: SearchIndex,
    private readonly models: EmbeddingModels,
    private readonly metrics: RetrievalMetrics,
    @Inject(SEARCH_SETTINGS) private readonly settings: SearchSettings,
  ) {}

  async execute(input: SearchCommand): Promise<SearchResult> {
    const started = performance.now();
    const command = parseCommand(searchCommandSchema, input);
    // The only await: everything after it runs in one synchronous step on the index.
    const query = await this.embedQuery(command.query);
    const stages: StageSeconds = { embed: 0, filter: 0, bm25: 0, dense: 0, fusion: 0 };
    let mark = performance.now();
    const lap = (stage: keyof StageSeconds): void => {
      const now = performance.now();
      stages[stage] += (now - mark) / 1000;
      mark = now;
    };
    lap('embed');
    const index = this.index;
    const slotCount = index.slots;

    const filters = Object.entries(command.filters);
    const timeFiltered = command.timeRangeMonths > 0;
    const filtered = command.collection !== '' || filters.length > 0 || timeFiltered;
    const passesFilters = (chunk: IndexedChunk): boolean =>
      (command.collection === '' || chunk.collection === command.collection) &&
      // Without a date a chunk cannot be placed in any window.
      (!timeFiltered || chunk.publishedAtMs !== null) &&
      filters.every(([key, value]) => chunk.metadata[key] === value);
    // 1 = searchable; computed once per slot (dead slots stay 0). Per-slot buffers are the
    // index's reused scratch: execute never awaits, so no other search can interleave.
    const accepted = index.maskBuffer();
    for (let slot = 0; slot < slotCount; slot += 1) {
      const chunk = index.at(slot);
      if (chunk !== undefined && (!filtered || passesFilters(chunk))) accepted[slot] = 1;
    }
    lap('filter');

    // Stems first: a term's weight falls with its position in its word (queryTermWeights).
    const matches = index.bm25(searchTokens(command.query), queryTermWeights(command.query));
    const bm25 = matches.scoreBySlot;
    lap('bm25');
    const dense = index.denseScores(query?.vector ?? []);
    lap('dense');

    let window: TimeWindowChoice | undefined;
    if (timeFiltered) {
      window = this.chooseWindow(command, accepted, bm25, dense);
      for (let slot = 0; slot < slotCount; slot += 1) {
        const t = accepted[slot] === 1 ? (index.at(slot)?.publishedAtMs ?? null) : null;
        if (t === null || t < window.fromMs || t > window.toMs) accepted[slot] = 0;
      }
    }
    lap('filter');

    const limit = this.settings.candidates;
    const idOf = (slot: number): string => index.at(slot)?.chunkId ?? '';
    const candidateSlots = new Set(topK(bm25, accepted, idOf, limit, matches.slots));
    for (const slot of topK(dense, accepted, idOf, limit)) candidateSlots.add(slot);

    const candidates: Candidate[] = [...candidateSlots].map((slot) => ({ id: idOf(slot), bm25: bm25[slot], dense: dense[slot] }));
    const fused = fuse(candidates, {
      method: command.fusion ?? this.settings.method,
      bm25Weight: command.bm25Weight ?? this.settings.bm25Weight,
    });

    const results: SearchHit[] = [];
    for (const hit of fused.slice(0, command.topK)) {
      const chunk = index.get(hit.id);
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
    lap('fusion');
    const tookMs = performance.now() - started;
    this.metrics.searchCompleted(tookMs / 1000, stages);
    return {
      results,
      tookMs,
      timeRangeMonthsUsed: window?.months ?? 0,
      timeRangeWidened: window?.widened ?? false,
      timeRangeExhausted: window?.exhausted ?? false,
      embeddingModel: query?.model ?? '',
    };
  }

  /**
   * The query's vector by the model the index serves. A model switch can land while an
   * upstream call is in flight: then the query is embedded again by the new model. An
   * embedding failure degrades the search to BM25 alone (undefined) instead of failing it.
   */
  private async embedQuery(text: string): Promise<QueryVector | undefined> {
    try {
      let query = await this.models.embedQuery(text);
      const served = (): boolean => this.index.model === '' || query.model === this.index.model;
      if (!served()) query = await this.models.embedQuery(text);
      return served() ? query : undefined;
    } catch (err) {
      this.metrics.queryEmbeddingFailed();
      this.logger.warn(`query embedding failed, searching with BM25 only: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }

  /**
   * A chunk counts toward the window's minimum when it passes the other filters and the query
   * matches it: a shared BM25 term, or a cosine of at least DENSE_MATCH_MIN_COSINE.
   */
  private chooseWindow(
    command: z.output<typeof searchCommandSchema>,
    accepted: Uint8Array,
    bm25: Float64Array,
    dense: Float64Array,
  ): TimeWindowChoice {
    const published: number[] = [];
    for (let slot = 0; slot < accepted.length; slot += 1) {
      if (accepted[slot] !== 1 || (bm25[slot] <= 0 && dense[slot] < DENSE_MATCH_MIN_COSINE)) continue;
      const t = this.index.at(slot)?.publishedAtMs;
      if (t !== undefined && t !== null) published.push(t);
    }
    const choice = chooseTimeWindow(published, command.timeAnchor ?? new Date(), command.timeRangeMonths, command.minCandidates);
    // chooseTimeWindow answers undefined only when no range was asked for; the caller checked.
    if (choice === undefined) throw new Error('time window requested without a range');
    return choice;
  }
}
