import { commonEnv, env, loadConfig } from '@ragmesh/config';

export const SERVICE_NAME = 'model-registry';
export const REGISTRY_SCHEMA = 'registry';

export const SHAPE = {
  ...commonEnv,
  REGISTRY_GRPC_PORT: env.port(50053),
  REGISTRY_HTTP_PORT: env.port(3001),
  OPS_PORT: env.port(9103),
  REGISTRY_POLL_MS: env.int(10_000, { min: 100 }),
  REGISTRY_PROBE_TIMEOUT_MS: env.int(3_000, { min: 100 }),
  // When set, seeded as the upstream named "default" (the one the generation proxy uses).
  GENERATION_UPSTREAM_URL: env.optionalUrl(),
};

export type AppConfig = ReturnType<typeof loadAppConfig>;

export const loadAppConfig = (source: NodeJS.ProcessEnv = process.env) => loadConfig(SERVICE_NAME, SHAPE, source);
