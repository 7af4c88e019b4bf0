import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export type ModelKind = 'base' | 'adapter' | 'embedding';

export interface ModelStatusRecord {
  upstreamId: string;
  upstream: string;
  model: string;
  kind: ModelKind;
  baseModel: string | null;
  loaded: boolean;
  loadedAt: Date | null;
  loadDurationSeconds: number | null;
  memoryBytes: number | null;
  kvCacheUsage: number | null;
  runningRequests: number | null;
  waitingRequests: number | null;
  device: string | null;
  lastError: string | null;
  checkedAt: Date;
}

interface Row {
  upstream_id: string;
  upstream: string;
  model: string;
  kind: ModelKind;
  base_model: string | null;
  loaded: boolean;
  loaded_at: Date | null;
  load_duration_seconds: number | null;
  memory_bytes: number | null;
  kv_cache_usage: number | null;
  running_requests: number | null;
  waiting_requests: number | null;
  device: string | null;
  last_error: string | null;
  checked_at: Date;
}

const toRecord = (r: Row): ModelStatusRecord => ({
  upstreamId: r.upstream_id,
  upstream: r.upstream,
  model: r.model,
  kind: r.kind,
  baseModel: r.base_model,
  loaded: r.loaded,
  loadedAt: r.loaded_at,
  loadDurationSeconds: r.load_duration_seconds,
  memoryBytes: r.memory_bytes,
  kvCacheUsage: r.kv_cache_usage,
  runningRequests: r.running_requests,
  waitingRequests: r.waiting_requests,
  device: r.device,
  lastError: r.last_error,
  checkedAt: r.checked_at,
});

const SELECT = `SELECT s.*, u.name AS upstream FROM model_status s JOIN upstreams u ON u.id = s.upstream_id`;

/** Per (upstream, model) status rows; the latest observation replaces the previous one. */
export abstract class ModelStatusRepository {
  abstract forUpstream(upstreamId: string): Promise<ModelStatusRecord[]>;
  abstract list(model?: string): Promise<ModelStatusRecord[]>;
  abstract save(rows: ModelStatusRecord[]): Promise<void>;
}

@Injectable()
export class PgModelStatusRepository extends ModelStatusRepository {
  constructor(private readonly ds: DataSource) {
    super();
  }

  async forUpstream(upstreamId: string): Promise<ModelStatusRecord[]> {
    const rows = await this.ds.query<Row[]>(`${SELECT} WHERE s.upstream_id = $1 ORDER BY s.model`, [upstreamId]);
    return rows.map(toRecord);
  }

  async list(model?: string): Promise<ModelStatusRecord[]> {
    const rows = model
      ? await this.ds.query<Row[]>(`${SELECT} WHERE s.model = $1 ORDER BY u.name, s.model`, [model])
      : await this.ds.query<Row[]>(`${SELECT} ORDER BY u.name, s.model`);
    return rows.map(toRecord);
  }

  async save(rows: ModelStatusRecord[]): Promise<void> {
    for (const r of rows) {
      await this.ds.query(
        `INSERT INTO model_status (upstream_id, model, kind, base_model, loaded, loaded_at, load_duration_seconds, memory_bytes,
           kv_cache_usage, running_requests, waiting_requests, device, last_error, checked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (upstream_id, model) DO UPDATE SET kind = EXCLUDED.kind, base_model = EXCLUDED.base_model,
           loaded = EXCLUDED.loaded, loaded_at = EXCLUDED.loaded_at, load_duration_seconds = EXCLUDED.load_duration_seconds,
           memory_bytes = EXCLUDED.memory_bytes, kv_cache_usage = EXCLUDED.kv_cache_usage, running_requests = EXCLUDED.running_requests,
           waiting_requests = EXCLUDED.waiting_requests, device = EXCLUDED.device, last_error = EXCLUDED.last_error,
           checked_at = EXCLUDED.checked_at`,
        [r.upstreamId, r.model, r.kind, r.baseModel, r.loaded, r.loadedAt, r.loadDurationSeconds, r.memoryBytes, r.kvCacheUsage,
          r.runningRequests, r.waitingRequests, r.device, r.lastError, r.checkedAt],
      );
    }
  }
}
