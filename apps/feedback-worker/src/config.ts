import { commonEnv, ConfigError, env, loadConfig } from '@ragmesh/config';
import { LOCAL_FEEDBACK_MODEL } from '@ragmesh/llm';
import { DEFAULT_RETRY, retryDelaysEnv } from '@ragmesh/messaging';
import { outboundEnv } from '@ragmesh/outbound';
import { MAX_REQUESTS_PREFETCH, REQUESTS_PREFETCH } from './feedback/requests.consumer';
import { secretProblem } from './feedback/signature';

export const SERVICE_NAME = 'feedback-worker';

/** Local default so the mesh runs without any env; refused in production. */
export const DEV_SIGNING_SECRET = 'whsec_cmFnbWVzaC1kZXYtZmVlZGJhY2stc2lnbmluZy1zZWNyZXQ=';

export const SHAPE = {
  ...commonEnv,
  ...outboundEnv,
  OPS_PORT: env.port(9104),
  GENERATION_GRPC_URL: env.hostPort('127.0.0.1:50052'),
  /** Standard Webhooks secret, `whsec_<base64 of 24–64 random bytes>`. */
  FEEDBACK_SIGNING_SECRET: env.str(DEV_SIGNING_SECRET),
  FEEDBACK_CALLBACK_TIMEOUT_MS: env.int(10_000, { min: 100, max: 120_000 }),
  /** The generation-proxy model that writes feedback; empty = the proxy's default (an upstream LLM when one is configured). */
  FEEDBACK_MODEL: env.str(LOCAL_FEEDBACK_MODEL),
  /** How often status events not yet confirmed by the broker are published again. */
  FEEDBACK_STATUS_RELAY_INTERVAL_MS: env.int(2_000, { min: 50, max: 60_000 }),
  /**
   * How long `running` waits before it is announced to the gateway; a job that ends sooner is
   * announced by its outcome alone (GET /v1/feedback/:id goes queued → succeeded). 0: at once.
   */
  FEEDBACK_RUNNING_EVENT_DELAY_MS: env.int(1_000, { min: 0, max: 60_000 }),
  /** Delays of the requests queue's retries, comma-separated ms; declared on its retry queues, so the same on every replica. */
  FEEDBACK_RETRY_DELAYS_MS: retryDelaysEnv(DEFAULT_RETRY),
  /** Jobs in flight per worker. Each holds a pooled database connection for its lock; the pool is sized from this (jobsPoolSize). */
  FEEDBACK_PREFETCH: env.int(REQUESTS_PREFETCH, { min: 1, max: MAX_REQUESTS_PREFETCH }),
};

export type AppConfig = ReturnType<typeof parse>;

const parse = (source: NodeJS.ProcessEnv) => loadConfig(SERVICE_NAME, SHAPE, source);

export function loadAppConfig(source: NodeJS.ProcessEnv = process.env): AppConfig {
  const config = parse(source);
  const problem = secretProblem(config.FEEDBACK_SIGNING_SECRET);
  if (problem) throw new ConfigError(SERVICE_NAME, 'FEEDBACK_SIGNING_SECRET', problem);
  // A published default secret would let anyone forge callbacks to product backends.
  if (config.NODE_ENV === 'production' && config.FEEDBACK_SIGNING_SECRET === DEV_SIGNING_SECRET) {
    throw new ConfigError(SERVICE_NAME, 'FEEDBACK_SIGNING_SECRET', 'must be set in production (the default is for local runs only)');
  }
  return config;
}

export const APP_CONFIG = Symbol('FEEDBACK_WORKER_CONFIG');
