import type { ProbeResult } from '../upstreams/upstream-prober';
import type { UpstreamRecord } from '../upstreams/upstream.repository';
import type { ModelStatusRecord } from './model-status.repository';

export interface StatusChange {
  upstream: string;
  model: string;
  kind: ModelStatusRecord['kind'];
  loaded: boolean;
  previouslyLoaded: boolean;
  lastError: string | null;
}

export interface StatusUpdate {
  rows: ModelStatusRecord[];
  changes: StatusChange[];
}

const DEVICE_LABEL = 'device=';

/** An operator can say where a server runs with a `device=cuda:0` label; else what /metrics suggests. */
function deviceOf(upstream: UpstreamRecord, probe: ProbeResult): string | null {
  const label = upstream.labels.find((l) => l.startsWith(DEVICE_LABEL));
  return label ? label.slice(DEVICE_LABEL.length) : (probe.metrics?.device ?? null);
}

/**
 * Base models: the time from process start to the first probe that lists the model, an upper
 * bound of the real load time (the probe interval is the error). Unknown when the process
 * started before the previous probe saw the upstream, i.e. it was already running.
 */
function baseLoadSeconds(probe: ProbeResult, at: Date, previousCheck: Date | null): number | null {
  const startedSeconds = probe.metrics?.processStartSeconds;
  if (startedSeconds === undefined) return null;
  if (previousCheck && previousCheck.getTime() / 1000 > startedSeconds) return null;
  return Math.max(0, at.getTime() / 1000 - startedSeconds);
}

/** Folds one probe of an upstream into its model rows and names the rows whose "loaded" flipped. */
export function nextModelStatus(upstream: UpstreamRecord, previous: ModelStatusRecord[], probe: ProbeResult, at: Date): StatusUpdate {
  const before = new Map(previous.map((r) => [r.model, r]));
  const rows: ModelStatusRecord[] = [];
  const served = probe.up ? (probe.served ?? probe.models.map((id) => ({ id, parent: null }))) : [];
  const metrics = probe.metrics ?? {};
  for (const model of served) {
    const prev = before.get(model.id);
    const kind = model.parent ? 'adapter' : 'base';
    const stillLoaded = prev?.loaded === true;
    rows.push({
      upstreamId: upstream.id,
      upstream: upstream.name,
      model: model.id,
      kind,
      baseModel: model.parent,
      loaded: true,
      loadedAt: stillLoaded ? prev.loadedAt : at,
      loadDurationSeconds: stillLoaded || kind === 'adapter' ? (prev?.loadDurationSeconds ?? null) : baseLoadSeconds(probe, at, upstream.checkedAt),
      memoryBytes: metrics.memoryBytes ?? null,
      kvCacheUsage: metrics.kvCacheUsage ?? null,
      runningRequests: metrics.runningRequests ?? null,
      waitingRequests: metrics.waitingRequests ?? null,
      device: deviceOf(upstream, probe),
      lastError: probe.metricsError ?? null,
      checkedAt: at,
    });
    before.delete(model.id);
  }
  // Known before, not served now: unloaded (or unreachable), with the reason when there is one.
  for (const prev of before.values()) {
    rows.push({ ...prev, loaded: false, runningRequests: null, waitingRequests: null, kvCacheUsage: null, lastError: probe.error ?? prev.lastError, checkedAt: at });
  }
  const was = new Map(previous.map((r) => [r.model, r.loaded]));
  const changes = rows
    .filter((r) => was.get(r.model) !== r.loaded)
    .map((r) => ({ upstream: upstream.name, model: r.model, kind: r.kind, loaded: r.loaded, previouslyLoaded: was.get(r.model) ?? false, lastError: r.lastError }));
  return { rows, changes };
}
