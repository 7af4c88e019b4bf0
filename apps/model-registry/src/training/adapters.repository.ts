import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export interface Adapter {
  id: string;
  name: string;
  baseModel: string;
  version: number;
  path: string;
  runId: string | null;
  datasetVersion: number | null;
  metrics: Record<string, unknown>;
  isDefault: boolean;
  promotedAt: Date | null;
  createdAt: Date;
}

interface Row {
  id: string;
  name: string;
  base_model: string;
  version: number;
  path: string;
  run_id: string | null;
  dataset_version: number | null;
  metrics: Record<string, unknown>;
  is_default: boolean;
  promoted_at: Date | null;
  created_at: Date;
}

const toAdapter = (r: Row): Adapter => ({
  id: r.id,
  name: r.name,
  baseModel: r.base_model,
  version: r.version,
  path: r.path,
  runId: r.run_id,
  datasetVersion: r.dataset_version,
  metrics: r.metrics,
  isDefault: r.is_default,
  promotedAt: r.promoted_at,
  createdAt: r.created_at,
});

/** Adapter versions (v1, v2, … in registration order) and which one is the default of its base model. */
@Injectable()
export class AdaptersRepository {
  constructor(private readonly ds: DataSource) {}

  async register(
    manager: EntityManager,
    a: { namePrefix: string; baseModel: string; path: string; runId: string; datasetVersion: number; metrics: Record<string, unknown> },
  ): Promise<Adapter> {
    // Serializes concurrent registrations so versions stay gap-free and unique.
    await manager.query(`LOCK TABLE adapters IN SHARE ROW EXCLUSIVE MODE`);
    const [{ next }] = await manager.query<{ next: number }[]>(`SELECT coalesce(max(version), 0) + 1 AS next FROM adapters`);
    const rows = await manager.query<Row[]>(
      `INSERT INTO adapters (name, base_model, version, path, run_id, dataset_version, metrics) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) RETURNING *`,
      [`${a.namePrefix}-v${next}`, a.baseModel, next, a.path, a.runId, a.datasetVersion, JSON.stringify(a.metrics)],
    );
    return toAdapter(rows[0]);
  }

  async find(idOrName: string): Promise<Adapter | null> {
    const byId = /^[0-9a-f-]{36}$/u.test(idOrName);
    const rows = await this.ds.query<Row[]>(`SELECT * FROM adapters WHERE ${byId ? 'id = $1::uuid' : 'name = $1'}`, [idOrName]);
    return rows[0] ? toAdapter(rows[0]) : null;
  }

  async list(): Promise<Adapter[]> {
    return (await this.ds.query<Row[]>(`SELECT * FROM adapters ORDER BY version DESC`)).map(toAdapter);
  }

  async defaultFor(baseModel: string): Promise<Adapter | null> {
    const rows = await this.ds.query<Row[]>(`SELECT * FROM adapters WHERE base_model = $1 AND is_default`, [baseModel]);
    return rows[0] ? toAdapter(rows[0]) : null;
  }

  /** Base model → its default adapter's name, for every base model that has one. */
  async defaults(): Promise<Record<string, string>> {
    const rows = await this.ds.query<{ base_model: string; name: string }[]>(`SELECT base_model, name FROM adapters WHERE is_default`);
    return Object.fromEntries(rows.map((r) => [r.base_model, r.name]));
  }

  /** The adapter promoted before `current` for the same base model (what a rollback returns to). */
  async previousPromoted(current: Adapter): Promise<Adapter | null> {
    const rows = await this.ds.query<Row[]>(
      `SELECT * FROM adapters WHERE base_model = $1 AND id <> $2 AND promoted_at IS NOT NULL AND version < $3 ORDER BY version DESC LIMIT 1`,
      [current.baseModel, current.id, current.version],
    );
    return rows[0] ? toAdapter(rows[0]) : null;
  }

  /** Makes `adapter` the default of its base model (null: the base model itself answers). */
  async setDefault(baseModel: string, adapterId: string | null): Promise<void> {
    await this.ds.transaction(async (m) => {
      await m.query(`UPDATE adapters SET is_default = false WHERE base_model = $1 AND is_default`, [baseModel]);
      if (adapterId) await m.query(`UPDATE adapters SET is_default = true, promoted_at = now() WHERE id = $1`, [adapterId]);
    });
  }

  async lastPromotion(): Promise<Date | null> {
    const [row] = await this.ds.query<{ at: Date | null }[]>(`SELECT max(promoted_at) AS at FROM adapters`);
    return row.at;
  }
}
