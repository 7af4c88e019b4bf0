import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { MetricsService } from '@ragmesh/observability';
import type { Gauge } from 'prom-client';
import { ModelStatusService } from '../models/model-status.service';
import { UpstreamFeed } from './upstream-feed';
import { UpstreamProber } from './upstream-prober';
import { UpstreamRecord, UpstreamRepository } from './upstream.repository';

export const WATCHER_OPTIONS = Symbol('WATCHER_OPTIONS');

export interface WatcherOptions {
  pollMs: number;
}

/**
 * Every pollMs, asks each non-local upstream for /health and /v1/models and records the
 * answer. Rounds never overlap: the next one is scheduled when the previous has finished.
 */
@Injectable()
export class UpstreamWatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(UpstreamWatcher.name);
  private readonly upGauge: Gauge<string>;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly upstreams: UpstreamRepository,
    private readonly prober: UpstreamProber,
    @Inject(WATCHER_OPTIONS) private readonly opts: WatcherOptions,
    metrics: MetricsService,
    @Optional() private readonly feed?: UpstreamFeed,
    @Optional() private readonly modelStatus?: ModelStatusService,
  ) {
    this.upGauge = metrics.gauge('ragmesh_registry_upstream_up', 'Whether the last probe found the upstream up (1) or down (0)', ['upstream']);
  }

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
  }

  /** One round over every upstream; exposed so tests and callers can force a check. */
  async checkAll(): Promise<void> {
    const targets = await this.upstreams.listProbeTargets();
    await Promise.all(targets.map((upstream) => this.check(upstream)));
  }

  private async check(upstream: UpstreamRecord): Promise<void> {
    const result = await this.prober.probe(upstream.baseUrl);
    const status = result.up ? 'up' : 'down';
    const outcome = { status, models: result.up ? result.models : undefined, lastError: result.error, checkedAt: new Date() } as const;
    await this.upstreams.recordProbe(upstream.id, outcome);
    this.upGauge.set({ upstream: upstream.name }, result.up ? 1 : 0);
    // Model rows are a view of the same probe; a failure there must not stop the round.
    await this.modelStatus?.recordProbe(upstream, result).catch((err: unknown) => this.logger.error(`model status of "${upstream.name}": ${String(err)}`));
    if (status !== upstream.status) {
      const detail = result.error ? `: ${result.error}` : ` serving ${result.models.join(', ') || 'no models'}`;
      this.logger.log(`upstream "${upstream.name}" ${upstream.status} → ${status}${detail}`);
      this.feed?.publish('upserted', { ...upstream, ...outcome, models: outcome.models ?? upstream.models });
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round = this.checkAll()
        .catch((err: unknown) => this.logger.error(`upstream check failed: ${err instanceof Error ? err.message : String(err)}`))
        .finally(() => this.schedule(this.opts.pollMs));
    }, delayMs);
  }
}
