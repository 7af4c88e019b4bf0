import { commonEnv, ConfigError, env, loadConfig } from '@ragmesh/config';
import { outboundEnv } from '@ragmesh/outbound';
import { adminToken } from './http/admin-auth';

export const SERVICE_NAME = 'model-registry';
export const REGISTRY_SCHEMA = 'registry';

export const SHAPE = {
  ...commonEnv,
  ...outboundEnv,
  REGISTRY_GRPC_PORT: env.port(50053),
  REGISTRY_HTTP_PORT: env.port(3001),
  // Bearer token of the admin REST port; empty: the mesh's RAGMESH_SERVICE_TOKEN.
  REGISTRY_ADMIN_TOKEN: env.str(''),
  OPS_PORT: env.port(9103),
  REGISTRY_POLL_MS: env.int(10_000, { min: 100 }),
  REGISTRY_PROBE_TIMEOUT_MS: env.int(3_000, { min: 100 }),
  // When set, seeded as the upstream named "default" (the one the generation proxy uses).
  GENERATION_UPSTREAM_URL: env.optionalUrl(),
  // The embedding model in use (a registry entry), and the one used when it is not served anywhere.
  REGISTRY_EMBEDDING_MODEL: env.str('local-hashing-embedder'),
  REGISTRY_EMBEDDING_FALLBACK: env.str('local-hashing-embedder'),
  REGISTRY_EMBEDDING_CACHE_DIR: env.str(''),
  REGISTRY_EMBEDDING_DEVICE: env.str('cpu'),
  // Ray Jobs REST API (the dashboard's port); empty: training runs are refused with a clear reason.
  RAY_JOBS_URL: env.optionalUrl(),
  RAY_JOBS_TIMEOUT_MS: env.int(10_000, { min: 100 }),
  // How often active training runs are polled and the auto trigger re-checked.
  TRAINING_POLL_MS: env.int(5_000, { min: 50 }),
  // Where the Ray job's workers fetch the dataset from (this service's admin REST as they reach it).
  REGISTRY_PUBLIC_URL: env.url('http://127.0.0.1:3001'),
  // Shared storage both the Ray workers and the vLLM servers see; adapters are written under it.
  TRAINING_OUTPUT_DIR: env.str('/models/adapters'),
  TRAINING_ENTRYPOINT: env.str('python deploy/ray/train_lora.py'),
  // JSON object passed as the job's runtime_env (working_dir, pip, env_vars…).
  TRAINING_RUNTIME_ENV: env.str('{}'),
  TRAINING_NUM_GPUS: env.int(1, { min: 0, max: 64 }),
  // HMAC-SHA256 key of the webhook signature. Empty: webhooks are not sent (an unsigned one could be forged).
  WEBHOOK_SECRET: env.str(''),
  WEBHOOK_TIMEOUT_MS: env.int(5_000, { min: 100 }),
  // Waits before each retry of a failed webhook delivery (comma-separated milliseconds).
  WEBHOOK_RETRY_DELAYS_MS: env.str('1000,5000,30000'),
  LORA_TIMEOUT_MS: env.int(120_000, { min: 100 }),
};

export type AppConfig = ReturnType<typeof loadAppConfig>;

export const loadAppConfig = (source: NodeJS.ProcessEnv = process.env) => {
  const config = loadConfig(SERVICE_NAME, SHAPE, source);
  return {
    ...config,
    adminToken: adminToken(config.REGISTRY_ADMIN_TOKEN, source),
    trainingRuntimeEnv: parseRuntimeEnv(config.TRAINING_RUNTIME_ENV),
    webhookRetryDelaysMs: parseDelays(config.WEBHOOK_RETRY_DELAYS_MS),
  };
};

function parseRuntimeEnv(raw: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ConfigError(SERVICE_NAME, 'TRAINING_RUNTIME_ENV', 'must be a JSON object');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(SERVICE_NAME, 'TRAINING_RUNTIME_ENV', 'must be a JSON object');
  }
  return value as Record<string, unknown>;
}

const MAX_WEBHOOK_DELAY_MS = 3_600_000;

function parseDelays(raw: string): number[] {
  const parts = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const delays = parts.map(Number);
  if (delays.some((d) => !Number.isInteger(d) || d < 0 || d > MAX_WEBHOOK_DELAY_MS)) {
    throw new ConfigError(SERVICE_NAME, 'WEBHOOK_RETRY_DELAYS_MS', `must be comma-separated integers in [0, ${MAX_WEBHOOK_DELAY_MS}] (got "${raw}")`);
  }
  return delays;
}
