export type { ChatEngine, ChatMessage, ContextChunk, GenerateEvent, GenerateInput, SummarizeInput, Usage } from './types';
export { LOCAL_ENGINE_MODEL, LOCAL_SUMMARIZER_MODEL, MAX_SUMMARY_SENTENCES } from './types';
export { buildRagMessages, renderContext, DEFAULT_PERSONA } from './prompt';
export { LocalExtractiveEngine, LOCAL_MAX_ANSWER_SENTENCES, LOCAL_FALLBACKS, extractiveAnswer, extractiveSummary } from './local-engine';
export { OpenAiCompatibleEngine, UpstreamHttpError, DEFAULT_UPSTREAM_TIMEOUT_MS } from './openai-engine';
export type { OpenAiCompatibleEngineOptions } from './openai-engine';
export { HashingEmbedder, cosine, fnv1a, DEFAULT_EMBEDDING_DIMENSIONS } from './embedder';
export * from './local-feedback';
export { OpenAiEmbeddingClient, EmbeddingResponseError, DEFAULT_EMBEDDING_BATCH_SIZE, DEFAULT_EMBEDDING_TIMEOUT_MS } from './embedding-client';
