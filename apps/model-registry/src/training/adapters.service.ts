import { Injectable } from '@nestjs/common';
import { EventLogRepository } from '../events/event-log.repository';
import { ModelStatusService } from '../models/model-status.service';
import { UpstreamFeed } from '../upstreams/upstream-feed';
import { UpstreamRecord, UpstreamRepository } from '../upstreams/upstream.repository';
import { Adapter, AdaptersRepository } from './adapters.repository';
import { ConflictError, NotFoundError } from './errors';
import { LoraClient } from './lora.client';
import { TrainingMetrics } from './training.metrics';

export interface LoadOutcome {
  upstream: string;
  ok: boolean;
  durationSeconds: number;
  error: string | null;
}

export interface RollbackResult {
  from: Adapter | null;
  to: Adapter | null;
  loads: LoadOutcome[];
}

/** Loads adapters onto the upstreams that serve their base model, and moves the default between versions. */
@Injectable()
export class AdaptersService {
  constructor(
    private readonly adapters: AdaptersRepository,
    private readonly upstreams: UpstreamRepository,
    private readonly lora: LoraClient,
    private readonly modelStatus: ModelStatusService,
    private readonly events: EventLogRepository,
    private readonly metrics: TrainingMetrics,
    private readonly feed: UpstreamFeed,
  ) {}

  list(): Promise<Adapter[]> {
    return this.adapters.list();
  }

  async get(idOrName: string): Promise<Adapter> {
    const adapter = await this.adapters.find(idOrName);
    if (!adapter) throw new NotFoundError(`adapter "${idOrName}" does not exist`);
    return adapter;
  }

  /** Every upstream that is up and lists the base model; each outcome is recorded on the model's status. */
  async load(adapter: Adapter): Promise<LoadOutcome[]> {
    const targets = await this.servingUpstreams(adapter.baseModel);
    const outcomes = await Promise.all(
      targets.map(async (upstream) => {
        const result = await this.lora.load(upstream.baseUrl, adapter.name, adapter.path);
        await this.modelStatus.recordAdapterLoad({ upstream, adapter: adapter.name, baseModel: adapter.baseModel, loaded: result.ok, durationSeconds: result.durationSeconds, error: result.error });
        return { upstream: upstream.name, ...result };
      }),
    );
    await this.events.append('adapter.loaded', adapter.name, { version: adapter.version, base_model: adapter.baseModel, outcomes: outcomes.map(toJsonOutcome) });
    return outcomes;
  }

  async unload(adapter: Adapter): Promise<LoadOutcome[]> {
    if (adapter.isDefault) throw new ConflictError(`adapter "${adapter.name}" is the default of ${adapter.baseModel}: roll back first`);
    const targets = await this.servingUpstreams(adapter.baseModel);
    const outcomes = await Promise.all(
      targets.map(async (upstream) => {
        const result = await this.lora.unload(upstream.baseUrl, adapter.name);
        // A failed unload leaves the adapter loaded.
        await this.modelStatus.recordAdapterLoad({ upstream, adapter: adapter.name, baseModel: adapter.baseModel, loaded: !result.ok, durationSeconds: result.durationSeconds, error: result.error });
        return { upstream: upstream.name, ...result };
      }),
    );
    await this.events.append('adapter.unloaded', adapter.name, { version: adapter.version, outcomes: outcomes.map(toJsonOutcome) });
    return outcomes;
  }

  /** Loaded on at least one upstream, then the default of its base model. */
  async promote(adapter: Adapter): Promise<LoadOutcome[]> {
    const loads = await this.requireLoaded(adapter);
    const previous = await this.adapters.defaultFor(adapter.baseModel);
    await this.setDefault(adapter.baseModel, adapter.id);
    this.metrics.promoted(new Date());
    await this.events.append('adapter.promoted', adapter.name, { version: adapter.version, base_model: adapter.baseModel, previous: previous?.name ?? null });
    return loads;
  }

  /**
   * Back to `toVersion`, or to the version promoted before the current default, or (when
   * there is none) to the bare base model. The rolled-back adapter stays loaded until unloaded.
   */
  async rollback(baseModel: string, toVersion?: number): Promise<RollbackResult> {
    const current = await this.adapters.defaultFor(baseModel);
    if (!current && toVersion === undefined) throw new ConflictError(`base model ${baseModel} has no promoted adapter to roll back`);
    let target: Adapter | null = null;
    if (toVersion !== undefined) {
      target = (await this.adapters.list()).find((a) => a.version === toVersion) ?? null;
      if (!target) throw new NotFoundError(`adapter version ${toVersion} does not exist`);
      if (target.baseModel !== baseModel) throw new ConflictError(`adapter v${toVersion} is for ${target.baseModel}, not ${baseModel}`);
    } else if (current) {
      target = await this.adapters.previousPromoted(current);
    }
    const loads = target ? await this.requireLoaded(target) : [];
    await this.setDefault(baseModel, target?.id ?? null);
    await this.events.append('adapter.rolled_back', baseModel, { from: current?.name ?? null, to: target?.name ?? null });
    return { from: current, to: target ? await this.get(target.id) : null, loads };
  }

  /** Stores the new default and tells every WatchUpstreams stream (the generation-proxy routes by it). */
  private async setDefault(baseModel: string, adapterId: string | null): Promise<void> {
    await this.adapters.setDefault(baseModel, adapterId);
    this.feed.publishDefaults(await this.adapters.defaults());
  }

  private async requireLoaded(adapter: Adapter): Promise<LoadOutcome[]> {
    const loads = await this.load(adapter);
    if (loads.length === 0) throw new ConflictError(`no upstream that is up serves base model ${adapter.baseModel}`);
    if (!loads.some((l) => l.ok)) throw new ConflictError(`adapter "${adapter.name}" failed to load: ${loads.map((l) => `${l.upstream}: ${l.error}`).join('; ')}`);
    return loads;
  }

  private async servingUpstreams(baseModel: string): Promise<UpstreamRecord[]> {
    return (await this.upstreams.listProbeTargets()).filter((u) => u.status === 'up' && u.models.includes(baseModel));
  }
}

export const toJsonOutcome = (o: LoadOutcome) => ({ upstream: o.upstream, ok: o.ok, duration_seconds: o.durationSeconds, error: o.error });
