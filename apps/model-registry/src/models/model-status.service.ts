import { Inject, Injectable, Logger } from '@nestjs/common';
import { Messaging, MESSAGING } from '@ragmesh/messaging';
import type { ProbeResult } from '../upstreams/upstream-prober';
import type { UpstreamRecord } from '../upstreams/upstream.repository';
import { nextModelStatus, StatusChange } from './model-status';
import { ModelStatusRecord, ModelStatusRepository } from './model-status.repository';

export interface AdapterLoadOutcome {
  upstream: UpstreamRecord;
  adapter: string;
  baseModel: string;
  loaded: boolean;
  durationSeconds: number;
  error: string | null;
}

/** Keeps model rows current from probes and adapter loads; every flip of "loaded" is announced. */
@Injectable()
export class ModelStatusService {
  private readonly logger = new Logger(ModelStatusService.name);

  constructor(
    private readonly repo: ModelStatusRepository,
    @Inject(MESSAGING) private readonly messaging: Messaging,
  ) {}

  async recordProbe(upstream: UpstreamRecord, probe: ProbeResult, at = new Date()): Promise<StatusChange[]> {
    const update = nextModelStatus(upstream, await this.repo.forUpstream(upstream.id), probe, at);
    await this.repo.save(update.rows);
    await this.announce(update.changes);
    return update.changes;
  }

  /** A load or unload through vLLM's LoRA endpoints: its timing is the adapter's load time. */
  async recordAdapterLoad(outcome: AdapterLoadOutcome, at = new Date()): Promise<void> {
    const previous = (await this.repo.forUpstream(outcome.upstream.id)).find((r) => r.model === outcome.adapter);
    const row: ModelStatusRecord = {
      upstreamId: outcome.upstream.id,
      upstream: outcome.upstream.name,
      model: outcome.adapter,
      kind: 'adapter',
      baseModel: outcome.baseModel,
      loaded: outcome.loaded,
      loadedAt: outcome.loaded ? at : (previous?.loadedAt ?? null),
      loadDurationSeconds: outcome.loaded ? outcome.durationSeconds : (previous?.loadDurationSeconds ?? null),
      memoryBytes: previous?.memoryBytes ?? null,
      kvCacheUsage: previous?.kvCacheUsage ?? null,
      runningRequests: previous?.runningRequests ?? null,
      waitingRequests: previous?.waitingRequests ?? null,
      device: previous?.device ?? null,
      lastError: outcome.error,
      checkedAt: at,
    };
    await this.repo.save([row]);
    const was = previous?.loaded ?? false;
    if (was !== row.loaded) {
      await this.announce([{ upstream: row.upstream, model: row.model, kind: 'adapter', loaded: row.loaded, previouslyLoaded: was, lastError: row.lastError }]);
    }
  }

  list(model?: string): Promise<ModelStatusRecord[]> {
    return this.repo.list(model);
  }

  private async announce(changes: StatusChange[]): Promise<void> {
    for (const c of changes) {
      this.logger.log(`model "${c.model}" on "${c.upstream}" ${c.loaded ? 'loaded' : 'unloaded'}${c.lastError ? `: ${c.lastError}` : ''}`);
      await this.messaging.publish('model.status.changed', {
        upstream: c.upstream,
        model: c.model,
        kind: c.kind,
        loaded: c.loaded,
        previouslyLoaded: c.previouslyLoaded,
        ...(c.lastError ? { lastError: c.lastError } : {}),
        at: new Date().toISOString(),
      });
    }
  }
}
