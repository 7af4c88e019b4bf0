import {
  ChatEngine,
  LOCAL_ENGINE_MODEL,
  LOCAL_SUMMARIZER_MODEL,
  LocalExtractiveEngine,
  OpenAiCompatibleEngine,
} from '@ragmesh/llm';
import type { AppConfig } from '../config';

/** The names that appear in `upstream` / `owned_by`: the registry seeds the same two. */
export const LOCAL_UPSTREAM = 'local';
export const DEFAULT_UPSTREAM = 'default';
export const LOCAL_MODEL_PREFIX = 'local-';
export const LOCAL_MODELS: readonly string[] = [LOCAL_ENGINE_MODEL, LOCAL_SUMMARIZER_MODEL];
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
}

export interface ModelEntry {
  id: string;
  ownedBy: string;
  upstream: string;
  kind: string;
}

/** Chooses the engine for a request; behind a token so tests can swap engines. */
export interface EngineRouter {
  forGeneration(model: string): EngineRoute;
  forSummary(model: string): EngineRoute;
  listModels(): Promise<ModelEntry[]>;
  /** True when requests can reach an upstream (not only the local engine). */
  readonly hasUpstream: boolean;
}

export const ENGINE_ROUTER = Symbol('ENGINE_ROUTER');

export interface StaticEngineRouterOptions {
  local: ChatEngine;
  upstream?: ChatEngine;
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
  readonly hasUpstream: boolean;

  constructor(private readonly opts: StaticEngineRouterOptions) {
    this.hasUpstream = opts.upstream !== undefined;
  }

  forGeneration(model: string): EngineRoute {
    const requested = model || this.opts.defaultModel || '';
    if (requested === '') return this.upstreamOr(LOCAL_ENGINE_MODEL);
    return this.resolve(requested, requested);
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
    if (!this.opts.upstream) return entries;
    let ids: string[] = [];
    try {
      ids = await this.opts.upstream.listModels();
    } catch {
      // The upstream being down must not hide what is configured; readiness reports the outage.
    }
    if (this.opts.upstreamModel) ids = [...ids, this.opts.upstreamModel];
    for (const id of new Set(ids)) {
      entries.push({ id, ownedBy: DEFAULT_UPSTREAM, upstream: DEFAULT_UPSTREAM, kind: UPSTREAM_KIND });
    }
    return entries;
  }

  private upstreamOr(localModel: string): EngineRoute {
    if (this.opts.upstream) {
      return { engine: this.opts.upstream, upstream: DEFAULT_UPSTREAM, model: this.opts.upstreamModel || undefined };
    }
    return { engine: this.opts.local, upstream: LOCAL_UPSTREAM, model: localModel };
  }

  private resolve(requested: string, localModel: string): EngineRoute {
    if (requested.startsWith(LOCAL_MODEL_PREFIX)) {
      if (!LOCAL_MODELS.includes(requested)) {
        throw new ModelNotFoundError(`model "${requested}" is not a local model (local models: ${LOCAL_MODELS.join(', ')})`);
      }
      return { engine: this.opts.local, upstream: LOCAL_UPSTREAM, model: localModel };
    }
    if (!this.opts.upstream) {
      throw new ModelNotFoundError(
        `model "${requested}" is not served: no upstream is configured (local models: ${LOCAL_MODELS.join(', ')})`,
      );
    }
    // The upstream is the authority on its own models; an unknown one comes back as a 404.
    return { engine: this.opts.upstream, upstream: DEFAULT_UPSTREAM, model: requested };
  }
}

export function createEngineRouter(config: AppConfig): EngineRouter {
  const upstream = config.GENERATION_UPSTREAM_URL
    ? new OpenAiCompatibleEngine({
        baseUrl: config.GENERATION_UPSTREAM_URL,
        apiKey: config.GENERATION_UPSTREAM_API_KEY || undefined,
        defaultModel: config.GENERATION_UPSTREAM_MODEL || undefined,
        timeoutMs: config.GENERATION_UPSTREAM_TIMEOUT_MS,
      })
    : undefined;
  return new StaticEngineRouter({
    local: new LocalExtractiveEngine(),
    upstream,
    upstreamModel: config.GENERATION_UPSTREAM_MODEL,
    defaultModel: config.GENERATION_DEFAULT_MODEL,
  });
}
