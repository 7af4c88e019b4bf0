import type { registry } from '@ragmesh/contracts';
import type { ModelStatusView } from './model-status.use-case';

export const modelStatusJson = (m: ModelStatusView) => ({
  model: m.model,
  upstream: m.upstream,
  kind: m.kind,
  base_model: m.baseModel,
  loaded: m.loaded,
  loaded_at: m.loadedAt?.toISOString() ?? null,
  load_duration_seconds: m.loadDurationSeconds,
  memory_bytes: m.memoryBytes,
  kv_cache_usage: m.kvCacheUsage,
  running_requests: m.runningRequests,
  waiting_requests: m.waitingRequests,
  device: m.device,
  last_error: m.lastError,
  checked_at: m.checkedAt.toISOString(),
  is_default: m.isDefault,
});

export const modelStatusGrpc = (m: ModelStatusView): registry.ModelStatus => ({
  model: m.model,
  upstream: m.upstream,
  kind: m.kind,
  baseModel: m.baseModel ?? '',
  loaded: m.loaded,
  loadedAt: m.loadedAt?.toISOString() ?? '',
  loadDurationSeconds: m.loadDurationSeconds ?? 0,
  memoryBytes: m.memoryBytes ?? 0,
  kvCacheUsage: m.kvCacheUsage ?? 0,
  runningRequests: m.runningRequests ?? 0,
  waitingRequests: m.waitingRequests ?? 0,
  device: m.device ?? '',
  lastError: m.lastError ?? '',
  checkedAt: m.checkedAt.toISOString(),
  isDefault: m.isDefault,
});
