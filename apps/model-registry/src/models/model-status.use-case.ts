import { Inject, Injectable } from '@nestjs/common';
import { AdaptersRepository } from '../training/adapters.repository';
import { LOCAL_UPSTREAM_NAME } from '../upstreams/upstream.schemas';
import { UpstreamRepository } from '../upstreams/upstream.repository';
import { ModelStatusRecord, ModelStatusRepository } from './model-status.repository';

export const EMBEDDING_OPTIONS = Symbol('EMBEDDING_OPTIONS');

export interface EmbeddingOptions {
  model: string;
  fallback: string;
  cacheDir: string;
  device: string;
}

/** The in-process embedders every service can load on its own (no upstream needed). */
export const LOCAL_EMBEDDERS: readonly string[] = ['local-hashing-embedder'];

export interface ModelStatusView extends Omit<ModelStatusRecord, 'upstreamId'> {
  isDefault: boolean;
}

/**
 * Model status as operators read it: what the probes saw, which adapter is the default of its
 * base model, and the embedding models — the configured one in use when something serves it,
 * else the fallback, with the reason on the configured entry.
 */
@Injectable()
export class ModelStatusUseCase {
  constructor(
    private readonly repo: ModelStatusRepository,
    private readonly adapters: AdaptersRepository,
    private readonly upstreams: UpstreamRepository,
    @Inject(EMBEDDING_OPTIONS) private readonly embedding: EmbeddingOptions,
  ) {}

  async list(model?: string): Promise<ModelStatusView[]> {
    const rows = await this.repo.list();
    const defaults = new Set((await this.adapters.list()).filter((a) => a.isDefault).map((a) => a.name));
    const views: ModelStatusView[] = rows.map(({ upstreamId: _id, ...r }) => ({ ...r, isDefault: defaults.has(r.model) }));
    const all = [...(await this.localEngines()), ...views, ...this.embeddings(rows)];
    return model ? all.filter((v) => v.model === model) : all;
  }

  /** The proxy's in-process engines: always loaded, never probed (there is no server to ask). */
  private async localEngines(): Promise<ModelStatusView[]> {
    const local = (await this.upstreams.list()).filter((u) => u.kind === 'local');
    return local.flatMap((u) =>
      u.models.map((model) => ({
        upstream: u.name,
        model,
        kind: 'base' as const,
        baseModel: null,
        loaded: true,
        loadedAt: null,
        loadDurationSeconds: null,
        memoryBytes: null,
        kvCacheUsage: null,
        runningRequests: null,
        waitingRequests: null,
        device: 'cpu',
        lastError: null,
        checkedAt: u.updatedAt,
        isDefault: false,
      })),
    );
  }

  private embeddings(rows: ModelStatusRecord[]): ModelStatusView[] {
    const { model, fallback } = this.embedding;
    const served = (name: string) => LOCAL_EMBEDDERS.includes(name) || rows.some((r) => r.model === name && r.loaded);
    const configuredUp = served(model);
    const entry = (name: string, isDefault: boolean, lastError: string | null): ModelStatusView => {
      const remote = rows.find((r) => r.model === name && r.loaded);
      return {
        upstream: remote?.upstream ?? LOCAL_UPSTREAM_NAME,
        model: name,
        kind: 'embedding',
        baseModel: null,
        loaded: served(name),
        loadedAt: remote?.loadedAt ?? null,
        loadDurationSeconds: remote?.loadDurationSeconds ?? null,
        memoryBytes: remote?.memoryBytes ?? null,
        kvCacheUsage: remote?.kvCacheUsage ?? null,
        runningRequests: remote?.runningRequests ?? null,
        waitingRequests: remote?.waitingRequests ?? null,
        device: remote?.device ?? this.embedding.device,
        lastError,
        checkedAt: remote?.checkedAt ?? new Date(),
        isDefault,
      };
    };
    if (model === fallback) return [entry(model, true, configuredUp ? null : `embedding model ${model} is not served by any upstream that is up`)];
    return [
      entry(model, configuredUp, configuredUp ? null : `not served by any upstream that is up; using the fallback ${fallback}`),
      entry(fallback, !configuredUp, null),
    ];
  }
}
