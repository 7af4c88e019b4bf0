export { normalize } from './normalize';
export { tokenize, searchTokens, queryTermWeights, QUERY_STEM_DECAY, stripParticle, KOREAN_PARTICLES, MAX_WHOLE_RUN_CHARS } from './tokenize';
export { countTokens, estimateTokens, HANGUL_CHARS_PER_TOKEN, LATIN_TOKENS_PER_WORD, DIGITS_PER_TOKEN } from './count-tokens';
export { splitSentences, ABBREVIATIONS } from './sentences';
export { chunkText, DEFAULT_CHUNK_MAX_TOKENS, DEFAULT_CHUNK_OVERLAP_TOKENS, PARAGRAPH_BREAK_MIN_FILL } from './chunk';
export type { Chunk, ChunkOptions } from './chunk';
export { Bm25Index, BM25_K1, BM25_B } from './bm25';
export type { Bm25Hit, Bm25Options } from './bm25';
export { parseTimeExpression, withoutTimeExpression, addMonths, monthsCovering, DEFAULT_RECENT_MONTHS, type TimeExpression, type TimeExpressionKind } from './time-expressions';
