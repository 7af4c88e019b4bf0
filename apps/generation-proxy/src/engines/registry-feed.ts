import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Provider } from '@nestjs/common';
import { env, loadConfig } from '@ragmesh/config';
import { PROTO_LOADER_OPTIONS, protoPath, type registry, serviceTokenInterceptor } from '@ragmesh/contracts';
import { MetricsService } from '@ragmesh/observability';
import type { Gauge } from 'prom-client';
import type { UpstreamPool, UpstreamSpec } from './upstream-pool';

/**
 * Follows the model registry's WatchUpstreams stream and swaps the pool's members to match
 * (GENERATION_UPSTREAMS_SOURCE=registry). When the registry is unreachable the pool keeps its
 * last known list and the watch reconnects with growing backoff; nothing is cleared on error.
 */

export const REGISTRY_FEED_SHAPE = {
  // "config": GENERATION_UPSTREAMS only; "registry": the registry's list replaces it once known.
  GENERATION_UPSTREAMS_SOURCE: env.oneOf(['config', 'registry'] as const, 'config'),
  REGISTRY_GRPC_URL: env.hostPort('127.0.0.1:50053'),
  REGISTRY_WATCH_BACKOFF_MS: env.int(500, { min: 10, max: 60_000 }),
  REGISTRY_WATCH_BACKOFF_MAX_MS: env.int(30_000, { min: 10, max: 600_000 }),
};

export type RegistryFeedConfig = ReturnType<typeof loadRegistryFeedConfig>;
export const loadRegistryFeedConfig = (source: NodeJS.ProcessEnv = process.env) => loadConfig('generation-proxy', REGISTRY_FEED_SHAPE, source);

export const MULTIMODAL_LABEL = 'multimodal';

/** The registry's list as the pool wants it: the in-process local engine is not a pool member. */
export function toUpstreamSpecs(upstreams: Iterable<registry.Upstream>): UpstreamSpec[] {
  return [...upstreams]
    .filter((u) => u.kind !== 'local')
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((u) => ({
      url: u.baseUrl,
      name: u.name,
      ...(u.weight > 0 ? { weight: u.weight } : {}),
      ...(u.maxConcurrency > 0 ? { maxConcurrency: u.maxConcurrency } : {}),
      ...(u.labels.includes(MULTIMODAL_LABEL) ? { multimodalModels: u.models } : {}),
    }));
}

/** Folds the stream's messages into the current list; a snapshot starts over. */
export class UpstreamListState {
  private readonly byName = new Map<string, registry.Upstream>();

  apply(change: registry.UpstreamsChange): UpstreamSpec[] {
    if (change.type === 'snapshot') this.byName.clear();
    for (const u of change.upstreams) {
      if (change.type === 'removed') this.byName.delete(u.name);
      else this.byName.set(u.name, u);
    }
    return toUpstreamSpecs(this.byName.values());
  }
}

/** The next wait: doubled each failure, capped; reset by the first message of a healthy stream. */
export function nextBackoff(current: number, initial: number, max: number): number {
  return Math.min(max, Math.max(initial, current * 2));
}

type WatchClient = grpc.Client & { watchUpstreams(req: registry.WatchUpstreamsRequest): grpc.ClientReadableStream<registry.UpstreamsChange> };

/** Where the pool's list is replaced; the pool itself in production. */
export interface UpstreamTarget {
  replaceUpstreams(specs: readonly UpstreamSpec[]): unknown;
  /** Base model → its promoted adapter, complete each time (snapshot, promote, rollback). */
  setDefaultAdapters?(defaults: Readonly<Record<string, string>>): void;
}

@Injectable()
export class RegistryFeed implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RegistryFeed.name);
  private readonly connected: Gauge<string>;
  private client: WatchClient | undefined;
  private call: grpc.ClientReadableStream<registry.UpstreamsChange> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backoff: number;
  private stopped = false;

  constructor(
    private readonly target: UpstreamTarget,
    private readonly config: RegistryFeedConfig,
    metrics: MetricsService,
  ) {
    this.backoff = config.REGISTRY_WATCH_BACKOFF_MS;
    this.connected = metrics.gauge('ragmesh_generation_registry_watch_connected', 'Whether the upstream watch stream to the model registry is open (1) or reconnecting (0)');
  }

  onApplicationBootstrap(): void {
    if (this.config.GENERATION_UPSTREAMS_SOURCE !== 'registry') return;
    const definition = protoLoader.loadSync(protoPath('registry'), PROTO_LOADER_OPTIONS);
    const v1 = (grpc.loadPackageDefinition(definition).ragmesh as grpc.GrpcObject).v1 as grpc.GrpcObject;
    const Service = v1.ModelRegistryService as grpc.ServiceClientConstructor;
    this.client = new Service(this.config.REGISTRY_GRPC_URL, grpc.credentials.createInsecure(), {
      interceptors: [serviceTokenInterceptor()],
      // A watch is long-lived (no deadline); keepalive notices a registry that vanished without a FIN.
      'grpc.keepalive_time_ms': 30_000,
    }) as unknown as WatchClient;
    this.connected.set(0);
    this.watch();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.call?.cancel();
    this.client?.close();
  }

  private watch(): void {
    if (this.stopped || !this.client) return;
    const state = new UpstreamListState();
    const call = this.client.watchUpstreams({});
    this.call = call;
    let ended = false;
    call.on('data', (change: registry.UpstreamsChange) => {
      this.connected.set(1);
      this.backoff = this.config.REGISTRY_WATCH_BACKOFF_MS;
      if (change.type === 'snapshot' || change.type === 'defaults') this.target.setDefaultAdapters?.(change.defaultAdapters ?? {});
      // The registry sends the snapshot first, so the configured list stays until the registry's is known.
      if (change.type !== 'defaults') this.replace(state.apply(change), change.type);
    });
    const retry = (reason: string) => {
      if (ended) return;
      ended = true;
      this.connected.set(0);
      if (this.stopped) return;
      this.logger.warn(`registry watch lost (${reason}); keeping the last known upstream list, retrying in ${this.backoff} ms`);
      this.timer = setTimeout(() => this.watch(), this.backoff);
      this.backoff = nextBackoff(this.backoff, this.config.REGISTRY_WATCH_BACKOFF_MS, this.config.REGISTRY_WATCH_BACKOFF_MAX_MS);
    };
    call.on('error', (err: grpc.ServiceError) => retry(`${grpc.status[err.code] ?? err.code}: ${err.details}`));
    call.on('end', () => retry('stream ended'));
  }

  private replace(specs: UpstreamSpec[], type: string): void {
    try {
      const change = this.target.replaceUpstreams(specs) as { added?: string[]; removed?: string[] } | undefined;
      if (change?.added?.length || change?.removed?.length) {
        this.logger.log(`upstreams from the registry (${type}): +[${(change.added ?? []).join(', ')}] -[${(change.removed ?? []).join(', ')}]`);
      }
    } catch (err) {
      this.logger.error(`registry upstream list not applied: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** The one provider the generation module adds: `registryFeedProvider(UPSTREAM_POOL)`. */
export function registryFeedProvider(poolToken: symbol): Provider {
  return {
    provide: RegistryFeed,
    inject: [poolToken, MetricsService],
    useFactory: (pool: UpstreamPool, metrics: MetricsService) => new RegistryFeed(pool, loadRegistryFeedConfig(), metrics),
  };
}
