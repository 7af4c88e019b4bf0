import { ChatEngine, LOCAL_ENGINE_MODEL, LOCAL_FEEDBACK_MODEL, LOCAL_SUMMARIZER_MODEL, LocalExtractiveEngine, withLocalFeedback } from '@ragmesh/llm';
import type { AppConfig } from '../config';
import { OpenAiUpstream } from './openai-upstream';
import { upstreamModelsCheck } from './upstream-health';
import { PoolMemberConfig, PoolObserver, upstreamLabel, UpstreamPool, UpstreamSpec } from './upstream-pool';

/** The names that appear in `upstream` / `owned_by`: the registry seeds the same two. */
export const LOCAL_UPSTREAM = 'local';
export const DEFAULT_UPSTREAM = 'default';
export const LOCAL_MODEL_PREFIX = 'local-';
export const LOCAL_MODELS: readonly string[] = [LOCAL_ENGINE_MODEL, LOCAL_SUMMARIZER_MODEL, LOCAL_FEEDBACK_MODEL];
export const LOCAL_KIND = 'local';
export const UPSTREAM_KIND = 'openai-compatible';

export class ModelNotFoundError extends Error {
  override readonly name = 'ModelNotFoundError';
}

/** Where one request goes. `model` undefined lets the engine use its own default. */
export interface EngineRoute {
  engine: ChatEngine;
  upstream: string;
  model: string | undefined;
  /** Served by the upstream pool, which limits requests per upstream and aborts its HTTP request on the signal itself. */
  pooled?: boolean;
}

export interface ModelEntry {
  id: string;
  ownedBy: string;
  upstream: string;
  kind: string;
}

/** Chooses the engine for a request; behind a token so tests can swap engines. */
export interface EngineRouter {
  /** `sessionId` lets a pool send a conversation back to the upstream holding its prefix cache. */
  forGeneration(model: string, sessionId?: string): EngineRoute;
  forSummary(model: string): EngineRoute;
  listModels(): Promise<ModelEntry[]>;
  /** True when requests can reach an upstream (not only the local engine). */
  readonly hasUpstream: boolean;
}

export const ENGINE_ROUTER = Symbol('ENGINE_ROUTER');

export interface StaticEngineRouterOptions {
  local: ChatEngine;
  upstream?: ChatEngine;
  /** Several upstreams; takes precedence over `upstream` and picks one per request. */
  pool?: UpstreamPool;
  /** GENERATION_UPSTREAM_MODEL: sent upstream when a request names no model. */
  upstreamModel?: string;
  /** GENERATION_DEFAULT_MODEL: used when a request names no model. */
  defaultModel?: string;
}

/**
 * One optional upstream plus the local engine. `local-…` models always stay local, so the
 * local engine remains reachable (and testable) even when an upstream is configured.
 */
export class StaticEngineRouter implements EngineRouter {
  constructor(private readonly opts: StaticEngineRouterOptions) {}

  /** Live: a pool fed by the registry may gain or lose every upstream at runtime. */
  get hasUpstream(): boolean {
    return this.opts.upstream !== undefined || (this.opts.pool !== undefined && this.opts.pool.size > 0);
  }

  forGeneration(model: string, sessionId?: string): EngineRoute {
    const requested = model || this.opts.defaultModel || '';
    if (requested === '') return this.upstreamOr(LOCAL_ENGINE_MODEL, sessionId);
    return this.resolve(requested, requested, sessionId);
  }

  /** Nest calls this on shutdown: the pool's health-check timer must stop. */
  onModuleDestroy(): void {
    this.opts.pool?.stop();
  }

  forSummary(model: string): EngineRoute {
    const requested = model || this.opts.defaultModel || '';
    if (requested === '') return this.upstreamOr(LOCAL_SUMMARIZER_MODEL);
    // Either local name summarizes with the extractive summarizer; report it by its own name.
    return this.resolve(requested, LOCAL_SUMMARIZER_MODEL);
  }

  async listModels(): Promise<ModelEntry[]> {
    const entries: ModelEntry[] = LOCAL_MODELS.map((id) => ({
      id,
      ownedBy: LOCAL_UPSTREAM,
      upstream: LOCAL_UPSTREAM,
      kind: LOCAL_KIND,
    }));
    const upstream = this.upstreamEngine(undefined);
    if (!upstream) return entries;
    let ids: string[] = [];
    try {
      ids = await upstream.listModels();
    } catch {
      // The upstream being down must not hide what is configured; readiness reports the outage.
    }
    if (this.opts.upstreamModel) ids = [...ids, this.opts.upstreamModel];
    for (const id of new Set(ids)) {
      entries.push({ id, ownedBy: DEFAULT_UPSTREAM, upstream: DEFAULT_UPSTREAM, kind: UPSTREAM_KIND });
    }
    return entries;
  }

  private admission(): Pick<EngineRoute, 'pooled'> {
    return this.poolServes ? { pooled: true } : {};
  }

  private get poolServes(): boolean {
    return this.opts.pool !== undefined && this.opts.pool.size > 0;
  }

  private upstreamEngine(sessionId: string | undefined): ChatEngine | undefined {
    if (this.opts.pool && this.poolServes) return this.opts.pool.engineFor(sessionId);
    return this.opts.upstream;
  }

  private upstreamOr(localModel: string, sessionId?: string): EngineRoute {
    const upstream = this.upstreamEngine(sessionId);
    if (upstream) {
      return { engine: upstream, upstream: DEFAULT_UPSTREAM, model: this.opts.upstreamModel || undefined, ...this.admission() };
    }
    return { engine: this.opts.local, upstream: LOCAL_UPSTREAM, model: localModel };
  }

  private resolve(requested: string, localModel: string, sessionId?: string): EngineRoute {
    if (requested.startsWith(LOCAL_MODEL_PREFIX)) {
      if (!LOCAL_MODELS.includes(requested)) {
        throw new ModelNotFoundError(`model "${requested}" is not a local model (local models: ${LOCAL_MODELS.join(', ')})`);
      }
      return { engine: this.opts.local, upstream: LOCAL_UPSTREAM, model: localModel };
    }
    const upstream = this.upstreamEngine(sessionId);
    if (!upstream) {
      throw new ModelNotFoundError(
        `model "${requested}" is not served: no upstream is configured (local models: ${LOCAL_MODELS.join(', ')})`,
      );
    }
    // The upstream is the authority on its own models; an unknown one comes back as a 404.
    return { engine: upstream, upstream: DEFAULT_UPSTREAM, model: requested, ...this.admission() };
  }
}

/** Connects one upstream given by address: its streaming client and its active health check. */
export function connectUpstream(config: AppConfig): (spec: UpstreamSpec) => PoolMemberConfig {
  return (spec) => ({
    name: spec.name ?? upstreamLabel(spec.url),
    url: spec.url,
    engine: new OpenAiUpstream({
      baseUrl: spec.url,
      apiKey: config.GENERATION_UPSTREAM_API_KEY || undefined,
      defaultModel: config.GENERATION_UPSTREAM_MODEL || undefined,
      timeoutMs: config.GENERATION_UPSTREAM_TIMEOUT_MS,
    }),
    healthCheck: upstreamModelsCheck(spec.url, config.GENERATION_UPSTREAM_MODEL || undefined),
    maxConcurrency: spec.maxConcurrency,
    multimodalModels: spec.multimodalModels,
    weight: spec.weight,
  });
}

/** The pool, empty when nothing is configured: the registry may fill it later (`replaceUpstreams`). */
export function createUpstreamPool(config: AppConfig, observer?: PoolObserver): UpstreamPool {
  const connect = connectUpstream(config);
  const pool = new UpstreamPool({
    members: config.upstreams.map(connect),
    connect,
    ttftTimeoutMs: config.GENERATION_TTFT_TIMEOUT_MS,
    maxAttempts: config.GENERATION_MAX_ATTEMPTS,
    breakerFailures: config.GENERATION_BREAKER_FAILURES,
    breakerCooldownMs: config.GENERATION_BREAKER_COOLDOWN_MS,
    affinityMaxSessions: config.GENERATION_AFFINITY_MAX_SESSIONS,
    healthIntervalMs: config.GENERATION_HEALTH_INTERVAL_MS,
    defaultMaxConcurrency: config.GENERATION_UPSTREAM_MAX_CONCURRENCY,
    maxQueue: config.GENERATION_MAX_QUEUE,
    queueTimeoutMs: config.GENERATION_QUEUE_TIMEOUT_MS,
    observer,
  });
  pool.startHealthChecks();
  return pool;
}

export function createEngineRouter(config: AppConfig, pool: UpstreamPool): EngineRouter {
  return new StaticEngineRouter({
    local: withLocalFeedback(new LocalExtractiveEngine()),
    pool,
    upstreamModel: config.GENERATION_UPSTREAM_MODEL,
    defaultModel: config.GENERATION_DEFAULT_MODEL,
  });
}
