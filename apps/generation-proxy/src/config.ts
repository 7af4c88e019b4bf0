import { commonEnv, ConfigError, env, loadConfig } from '@ragmesh/config';
import type { UpstreamSpec } from './engines/upstream-pool';

export const SERVICE_NAME = 'generation-proxy';

export const SHAPE = {
  ...commonEnv,
  GENERATION_GRPC_PORT: env.port(50052),
  OPS_PORT: env.port(9102),
  // Empty: the local engine answers everything.
  GENERATION_UPSTREAM_URL: env.optionalUrl(),
  // Comma-separated upstream pool; each entry is a base URL with optional ";key=value" options:
  // max_concurrency=N (slots of that upstream), multimodal=model|model (or *: models that read images).
  // GENERATION_UPSTREAM_URL alone is a pool of one.
  GENERATION_UPSTREAMS: env.str(''),
  GENERATION_UPSTREAM_MODEL: env.str(''),
  GENERATION_UPSTREAM_API_KEY: env.str(''),
  // Model used when a request names none; empty → the upstream model, or the local engine.
  GENERATION_DEFAULT_MODEL: env.str(''),
  GENERATION_UPSTREAM_TIMEOUT_MS: env.int(120_000, { min: 1_000 }),
  // Local engine: requests computed at once (it runs on the proxy's own CPU) and its wait queue.
  GENERATION_MAX_CONCURRENCY: env.int(16, { min: 1, max: 10_000 }),
  // Upstreams: slots per upstream unless its entry says max_concurrency (vLLM's --max-num-seqs).
  GENERATION_UPSTREAM_MAX_CONCURRENCY: env.int(256, { min: 1, max: 100_000 }),
  // Requests that may wait for a slot (local engine, and the upstream pool, each); past it RESOURCE_EXHAUSTED.
  GENERATION_MAX_QUEUE: env.int(64, { min: 0, max: 100_000 }),
  // A queued request is rejected (RESOURCE_EXHAUSTED + retry-after-ms) after waiting this long.
  GENERATION_QUEUE_TIMEOUT_MS: env.int(10_000, { min: 1 }),
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
  const upstreams = parseUpstreams(config.GENERATION_UPSTREAMS, config.GENERATION_UPSTREAM_URL);
  return { ...config, upstreams, upstreamUrls: upstreams.map((u) => u.url) };
};

const bad = (reason: string): ConfigError => new ConfigError(SERVICE_NAME, 'GENERATION_UPSTREAMS', reason);

function parseUrl(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || parsed.host === '' || !/^https?:$/u.test(parsed.protocol)) throw bad(`"${url}" is not an http(s) URL`);
  return url;
}

/** One entry: `url[;max_concurrency=N][;multimodal=model|model|*]`. */
export function parseUpstreamEntry(entry: string): UpstreamSpec {
  const [rawUrl, ...options] = entry.split(';').map((p) => p.trim());
  const spec: { url: string; maxConcurrency?: number; multimodalModels?: string[] } = { url: parseUrl(rawUrl) };
  for (const option of options.filter((o) => o !== '')) {
    const [key, value = ''] = option.split('=').map((p) => p.trim());
    if (key === 'max_concurrency') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw bad(`${rawUrl}: max_concurrency must be a positive integer, got "${value}"`);
      spec.maxConcurrency = n;
    } else if (key === 'multimodal') {
      const models = value.split('|').map((m) => m.trim()).filter((m) => m !== '');
      if (models.length === 0) throw bad(`${rawUrl}: multimodal needs a model name or *`);
      spec.multimodalModels = models;
    } else {
      throw bad(`${rawUrl}: unknown option "${key}" (options: max_concurrency, multimodal)`);
    }
  }
  return spec;
}

/** GENERATION_UPSTREAMS wins; else GENERATION_UPSTREAM_URL; else none (local engine only). */
export function parseUpstreams(list: string, single: string | undefined): UpstreamSpec[] {
  const entries = list
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  if (entries.length === 0) return single ? [{ url: single }] : [];
  const specs = entries.map(parseUpstreamEntry);
  if (new Set(specs.map((s) => s.url)).size !== specs.length) throw bad('lists the same URL twice');
  return specs;
}

/** The URLs alone (kept for callers that only need addresses). */
export function parseUpstreamUrls(list: string, single: string | undefined): string[] {
  return parseUpstreams(list, single).map((s) => s.url);
}
