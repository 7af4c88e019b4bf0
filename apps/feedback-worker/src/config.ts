import { commonEnv, ConfigError, env, loadConfig } from '@ragmesh/config';

export const SERVICE_NAME = 'feedback-worker';

/** Local default so the mesh runs without any env; refused in production. */
export const DEV_SIGNING_SECRET = 'ragmesh-dev-feedback-signing-secret';

export const SHAPE = {
  ...commonEnv,
  OPS_PORT: env.port(9104),
  GENERATION_GRPC_URL: env.hostPort('127.0.0.1:50052'),
  FEEDBACK_SIGNING_SECRET: env.str(DEV_SIGNING_SECRET),
  FEEDBACK_CALLBACK_TIMEOUT_MS: env.int(10_000, { min: 100, max: 120_000 }),
};

export type AppConfig = ReturnType<typeof parse>;

const parse = (source: NodeJS.ProcessEnv) => loadConfig(SERVICE_NAME, SHAPE, source);

export function loadAppConfig(source: NodeJS.ProcessEnv = process.env): AppConfig {
  const config = parse(source);
  // A published default secret would let anyone forge callbacks to product backends.
  if (config.NODE_ENV === 'production' && config.FEEDBACK_SIGNING_SECRET === DEV_SIGNING_SECRET) {
    throw new ConfigError(SERVICE_NAME, 'FEEDBACK_SIGNING_SECRET', 'must be set in production (the default is for local runs only)');
  }
  return config;
}

export const APP_CONFIG = Symbol('FEEDBACK_WORKER_CONFIG');
