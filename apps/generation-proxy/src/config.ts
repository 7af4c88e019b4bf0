import { commonEnv, env, loadConfig } from '@ragmesh/config';

export const SERVICE_NAME = 'generation-proxy';

export const SHAPE = {
  ...commonEnv,
  GENERATION_GRPC_PORT: env.port(50052),
  OPS_PORT: env.port(9102),
  // Empty: the local engine answers everything.
  GENERATION_UPSTREAM_URL: env.optionalUrl(),
  GENERATION_UPSTREAM_MODEL: env.str(''),
  GENERATION_UPSTREAM_API_KEY: env.str(''),
  // Model used when a request names none; empty → the upstream model, or the local engine.
  GENERATION_DEFAULT_MODEL: env.str(''),
  GENERATION_UPSTREAM_TIMEOUT_MS: env.int(120_000, { min: 1_000 }),
  GENERATION_MAX_CONCURRENCY: env.int(16, { min: 1, max: 10_000 }),
  GENERATION_MAX_QUEUE: env.int(64, { min: 0, max: 100_000 }),
};

export type AppConfig = ReturnType<typeof loadAppConfig>;

export const loadAppConfig = (source: NodeJS.ProcessEnv = process.env) => loadConfig(SERVICE_NAME, SHAPE, source);
