import type { FusionMethod } from '../config';

/** Reciprocal rank fusion's damping constant, as in the original paper (Cormack et al.). */
export const RRF_K = 60;

export interface Candidate {
  id: string;
  /** Raw BM25 score; 0 when the chunk does not match the query terms. */
  bm25: number;
  /** Raw cosine similarity of the query and chunk vectors. */
  dense: number;
}

export interface FusedCandidate {
  id: string;
  score: number;
  /** Min-max scaled over the candidate set, in [0, 1]. */
  bm25: number;
  dense: number;
}

export interface FusionOptions {
  method: FusionMethod;
  /** Weight of BM25; dense gets 1 - bm25Weight. */
  bm25Weight: number;
}

/**
 * Min-max scaling to [0, 1]. When every value is equal there is no spread to scale: positive
 * values all count as a full match (1), zero or negative ones as none (0).
 */
export function minMaxScale(values: number[]): number[] {
  if (values.length === 0) return [];
  const min = values.reduce((a, b) => Math.min(a, b));
  const max = values.reduce((a, b) => Math.max(a, b));
  if (max === min) return values.map(() => (max > 0 ? 1 : 0));
  return values.map((v) => (v - min) / (max - min));
}

/** 1-based ranks by descending value; values <= 0 get no rank (they did not match). */
function ranks(values: number[]): (number | undefined)[] {
  const order = values
    .map((value, i) => ({ value, i }))
    .filter((e) => e.value > 0)
    .sort((a, b) => b.value - a.value);
  const result: (number | undefined)[] = values.map(() => undefined);
  order.forEach((e, rank) => (result[e.i] = rank + 1));
  return result;
}

/** Fuses BM25 and dense scores of the candidates; best first, ties broken by id for stable pages. */
export function fuse(candidates: Candidate[], opts: FusionOptions): FusedCandidate[] {
  const bm25 = minMaxScale(candidates.map((c) => c.bm25));
  const dense = minMaxScale(candidates.map((c) => c.dense));
  const denseWeight = 1 - opts.bm25Weight;

  let scores: number[];
  if (opts.method === 'rrf') {
    const bm25Ranks = ranks(candidates.map((c) => c.bm25));
    const denseRanks = ranks(candidates.map((c) => c.dense));
    const term = (rank: number | undefined): number => (rank === undefined ? 0 : 1 / (RRF_K + rank));
    scores = candidates.map((_, i) => opts.bm25Weight * term(bm25Ranks[i]) + denseWeight * term(denseRanks[i]));
  } else {
    scores = candidates.map((_, i) => opts.bm25Weight * bm25[i] + denseWeight * dense[i]);
  }

  return candidates
    .map((c, i) => ({ id: c.id, score: scores[i], bm25: bm25[i], dense: dense[i] }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
