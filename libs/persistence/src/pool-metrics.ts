import { getOrCreateGauge, metricsRegistry } from '@ragmesh/observability';
import type { Gauge } from 'prom-client';
import type { DataSource } from 'typeorm';
import { pgPoolOf } from './pg-pool';

/** The counters node-postgres' Pool keeps (TypeORM's postgres driver holds one as `master`). */
interface PgPoolCounts {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options?: { max?: number };
}

// node-postgres' default pool size, which TypeORM keeps unless `extra.max` is set.
const PG_DEFAULT_MAX = 10;

const observed = new Map<string, DataSource>();

function poolOf(ds: DataSource): PgPoolCounts | undefined {
  return pgPoolOf(ds);
}

function eachPool(visit: (pool: string, counts: PgPoolCounts) => void): void {
  for (const [pool, ds] of observed) {
    const counts = ds.isInitialized ? poolOf(ds) : undefined;
    if (counts) visit(pool, counts);
  }
}

function collectConnections(this: Gauge<string>): void {
  this.reset();
  eachPool((pool, c) => {
    this.set({ pool, state: 'in_use' }, c.totalCount - c.idleCount);
    this.set({ pool, state: 'idle' }, c.idleCount);
  });
}

function collectWaiting(this: Gauge<string>): void {
  this.reset();
  eachPool((pool, c) => this.set({ pool }, c.waitingCount));
}

function collectMax(this: Gauge<string>): void {
  this.reset();
  eachPool((pool, c) => this.set({ pool }, c.options?.max ?? PG_DEFAULT_MAX));
}

/**
 * Reports the data source's connection pool at every scrape, labelled pool=<schema>:
 * connections in use and idle, callers waiting for one, and the pool's size. A pool whose
 * in_use sits at max with waiting > 0 is the database being the bottleneck.
 */
export function observePool(ds: DataSource, pool: string): void {
  getOrCreateGauge(metricsRegistry, 'ragmesh_db_pool_connections', 'PostgreSQL pool connections by state (in_use, idle)', ['pool', 'state'], collectConnections);
  getOrCreateGauge(metricsRegistry, 'ragmesh_db_pool_waiting_clients', 'Queries waiting for a free PostgreSQL pool connection', ['pool'], collectWaiting);
  getOrCreateGauge(metricsRegistry, 'ragmesh_db_pool_max_connections', 'Size limit of the PostgreSQL pool', ['pool'], collectMax);
  observed.set(pool, ds);
}
