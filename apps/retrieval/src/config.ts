import { commonEnv, ConfigError, env, loadConfig } from '@ragmesh/config';
import { hostname } from 'node:os';
import { z } from 'zod';

/** A number in [0, 1] from an env string; empty/unset → the default. */
function fraction(def: number): z.ZodType<number> {
  const schema = z.unknown().transform((input, ctx): number => {
    const raw = input === undefined || input === null ? '' : String(input).trim();
    if (raw === '') return def;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0 || value > 1) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be a number between 0 and 1 (got "${raw}")` });
      return z.NEVER;
    }
    return value;
  });
  // Same convention as @ragmesh/config: raw env strings in, T out.
  return schema as unknown as z.ZodType<number>;
}

export const FUSION_METHODS = ['minmax', 'rrf'] as const;
export type FusionMethod = (typeof FUSION_METHODS)[number];

export const SHAPE = {
  ...commonEnv,
  RETRIEVAL_GRPC_PORT: env.port(50051),
  OPS_PORT: env.port(9101),
  CHUNK_MAX_TOKENS: env.int(200, { min: 16, max: 4096 }),
  CHUNK_OVERLAP_TOKENS: env.int(40, { min: 0, max: 1024 }),
  /** Weight of min-max scaled BM25 in the fused score; dense cosine gets the rest. */
  FUSION_BM25_WEIGHT: fraction(0.6),
  FUSION_METHOD: env.oneOf(FUSION_METHODS, 'minmax'),
  /** How many top BM25 hits and top dense hits enter fusion. */
  SEARCH_CANDIDATES: env.int(100, { min: 10, max: 10_000 }),
  /**
   * Names this replica's index-sync queue (retrieval.index.<id>); must be stable across
   * restarts (a StatefulSet pod name), or every restart leaves a queue behind.
   */
  RETRIEVAL_INSTANCE_ID: env.str(hostname()),
  /** An OpenAI-compatible server with /v1/embeddings; unset = the local hashing embedder. */
  RETRIEVAL_EMBEDDINGS_URL: env.optionalUrl(),
  /** The embedding model asked of that server; required with the URL. Changing it re-embeds in the background. */
  RETRIEVAL_EMBEDDINGS_MODEL: env.str(''),
  RETRIEVAL_EMBEDDINGS_API_KEY: env.str(''),
  RETRIEVAL_EMBEDDINGS_TIMEOUT_MS: env.int(30_000, { min: 100, max: 600_000 }),
  /** Texts per /v1/embeddings request, and chunks per step of a background re-embed. */
  RETRIEVAL_REEMBED_BATCH: env.int(64, { min: 1, max: 2_048 }),
};

export type AppConfig = z.infer<z.ZodObject<typeof SHAPE>>;

export const loadAppConfig = (source: NodeJS.ProcessEnv = process.env): AppConfig => {
  const config = loadConfig('retrieval', SHAPE, source);
  if (config.CHUNK_OVERLAP_TOKENS >= config.CHUNK_MAX_TOKENS) {
    // Overlap as large as the chunk would never advance through the text.
    throw new ConfigError('retrieval', 'CHUNK_OVERLAP_TOKENS', `must be < CHUNK_MAX_TOKENS (${config.CHUNK_MAX_TOKENS})`);
  }
  const model = config.RETRIEVAL_EMBEDDINGS_MODEL.trim();
  if (config.RETRIEVAL_EMBEDDINGS_URL !== undefined && model === '') {
    throw new ConfigError('retrieval', 'RETRIEVAL_EMBEDDINGS_MODEL', 'is required when RETRIEVAL_EMBEDDINGS_URL is set');
  }
  if (config.RETRIEVAL_EMBEDDINGS_URL === undefined && model !== '') {
    throw new ConfigError('retrieval', 'RETRIEVAL_EMBEDDINGS_URL', `is required when RETRIEVAL_EMBEDDINGS_MODEL is set (got model "${model}")`);
  }
  return { ...config, RETRIEVAL_EMBEDDINGS_MODEL: model };
};
