import { commonEnv, ConfigError, env, loadConfig } from '@ragmesh/config';

export const SERVICE_NAME = 'generation-proxy';

export const SHAPE = {
  ...commonEnv,
  GENERATION_GRPC_PORT: env.port(50052),
  OPS_PORT: env.port(9102),
  // Empty: the local engine answers everything.
  GENERATION_UPSTREAM_URL: env.optionalUrl(),
  // Comma-separated base URLs of the upstream pool; GENERATION_UPSTREAM_URL alone is a pool of one.
  GENERATION_UPSTREAMS: env.str(''),
  GENERATION_UPSTREAM_MODEL: env.str(''),
  GENERATION_UPSTREAM_API_KEY: env.str(''),
  // Model used when a request names none; empty → the upstream model, or the local engine.
  GENERATION_DEFAULT_MODEL: env.str(''),
  GENERATION_UPSTREAM_TIMEOUT_MS: env.int(120_000, { min: 1_000 }),
  GENERATION_MAX_CONCURRENCY: env.int(16, { min: 1, max: 10_000 }),
  GENERATION_MAX_QUEUE: env.int(64, { min: 0, max: 100_000 }),
  // No first token in this long → abandon the attempt, open that upstream's breaker, try another.
  GENERATION_TTFT_TIMEOUT_MS: env.int(30_000, { min: 10 }),
  GENERATION_MAX_ATTEMPTS: env.int(2, { min: 1, max: 10 }),
  GENERATION_BREAKER_FAILURES: env.int(3, { min: 1, max: 1_000 }),
  GENERATION_BREAKER_COOLDOWN_MS: env.int(10_000, { min: 10 }),
  // 0 turns active health checks off.
  GENERATION_HEALTH_INTERVAL_MS: env.int(5_000, { min: 0 }),
  GENERATION_AFFINITY_MAX_SESSIONS: env.int(100_000, { min: 1 }),
};

export type AppConfig = ReturnType<typeof loadAppConfig>;

export const loadAppConfig = (source: NodeJS.ProcessEnv = process.env) => {
  const config = loadConfig(SERVICE_NAME, SHAPE, source);
  // Parsed here so a typo fails at startup with the variable's name, not at the first request.
  return { ...config, upstreamUrls: parseUpstreamUrls(config.GENERATION_UPSTREAMS, config.GENERATION_UPSTREAM_URL) };
};

/** GENERATION_UPSTREAMS wins; else GENERATION_UPSTREAM_URL; else none (local engine only). */
export function parseUpstreamUrls(list: string, single: string | undefined): string[] {
  const urls = list
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  if (urls.length === 0) return single ? [single] : [];
  for (const url of urls) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.host === '' || !/^https?:$/u.test(parsed.protocol)) {
      throw new ConfigError(SERVICE_NAME, 'GENERATION_UPSTREAMS', `"${url}" is not an http(s) URL`);
    }
  }
  if (new Set(urls).size !== urls.length) {
    throw new ConfigError(SERVICE_NAME, 'GENERATION_UPSTREAMS', 'lists the same URL twice');
  }
  return urls;
}
