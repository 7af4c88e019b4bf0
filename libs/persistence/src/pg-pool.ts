import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * node-postgres' Pool behind a TypeORM data source (its postgres driver holds it as `master`),
 * for what TypeORM does not offer: named prepared statements, a connection held across
 * statements, the pool's counters. Undefined for another driver, or before the source is open.
 */
export function pgPoolOf(ds: DataSource): Pool | undefined {
  const master = (ds.driver as { master?: Partial<Pool> } | undefined)?.master;
  return typeof master?.connect === 'function' && typeof master.query === 'function' ? (master as Pool) : undefined;
}
