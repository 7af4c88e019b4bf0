import type { AppConfig, FusionMethod } from '../config';

export interface SearchSettings {
  bm25Weight: number;
  method: FusionMethod;
  /** Top BM25 hits and top dense hits that enter fusion (each). */
  candidates: number;
}

export interface ChunkingSettings {
  maxTokens: number;
  overlapTokens: number;
}

export const SEARCH_SETTINGS = Symbol('SEARCH_SETTINGS');
export const CHUNKING_SETTINGS = Symbol('CHUNKING_SETTINGS');

export const searchSettingsFrom = (config: AppConfig): SearchSettings => ({
  bm25Weight: config.FUSION_BM25_WEIGHT,
  method: config.FUSION_METHOD,
  candidates: config.SEARCH_CANDIDATES,
});

export const chunkingSettingsFrom = (config: AppConfig): ChunkingSettings => ({
  maxTokens: config.CHUNK_MAX_TOKENS,
  overlapTokens: config.CHUNK_OVERLAP_TOKENS,
});
