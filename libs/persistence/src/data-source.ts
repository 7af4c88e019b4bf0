import type { HealthCheck } from '@ragmesh/observability';
import { Client } from 'pg';
import { DataSource, Migration } from 'typeorm';

export interface ServiceDataSourceOptions {
  url: string;
  /** The service's own PostgreSQL schema (gateway, retrieval, registry, summarizer, feedback). */
  schema: string;
  // TypeORM's own option types take constructors as Function.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: Function[];
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: Function[];
  /** Unit tests only: the schema is otherwise owned by the migrations. */
  synchronize?: boolean;
  /** Most connections the pool opens (node-postgres defaults to 10). */
  poolSize?: number;
}

// Schema names are interpolated into DDL, so only plain identifiers are accepted.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
// Replicas starting together must not run the same migration twice.
const MIGRATION_LOCK_NAMESPACE = 'ragmesh.migrations';
// pg error codes for losing a concurrent CREATE SCHEMA IF NOT EXISTS race.
const ALREADY_EXISTS_CODES = new Set(['42P06', '23505']);

function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`invalid schema name "${schema}": use lowercase letters, digits and _`);
  }
}

export function migrationsTableName(schema: string): string {
  return `${schema}_migrations`;
}

/**
 * A PostgreSQL DataSource confined to the service's schema: entities, the migrations table and
 * (through search_path) unqualified SQL in migrations all land there.
 */
export function createServiceDataSource(opts: ServiceDataSourceOptions): DataSource {
  assertSchemaName(opts.schema);
  return new DataSource({
    type: 'postgres',
    url: opts.url,
    schema: opts.schema,
    entities: opts.entities,
    migrations: opts.migrations,
    migrationsTableName: migrationsTableName(opts.schema),
    migrationsRun: false,
    synchronize: opts.synchronize ?? false,
    logging: false,
    ...(opts.poolSize !== undefined ? { poolSize: opts.poolSize } : {}),
    extra: { options: `-c search_path=${opts.schema},public` },
  });
}

async function ensureSchema(url: string, schema: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !ALREADY_EXISTS_CODES.has(code)) throw err;
  } finally {
    await client.end();
  }
}

/** Runs pending migrations, one transaction each, under an advisory lock held for the schema. */
export async function migrate(ds: DataSource, schema: string): Promise<Migration[]> {
  const lockRunner = ds.createQueryRunner();
  await lockRunner.connect();
  const lockKey = `${MIGRATION_LOCK_NAMESPACE}.${schema}`;
  try {
    await lockRunner.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
    try {
      return await ds.runMigrations({ transaction: 'each' });
    } finally {
      await lockRunner.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]);
    }
  } finally {
    await lockRunner.release();
  }
}

/** Creates the schema if needed, connects and applies pending migrations. */
export async function openServiceDataSource(opts: ServiceDataSourceOptions): Promise<DataSource> {
  assertSchemaName(opts.schema);
  await ensureSchema(opts.url, opts.schema);
  const ds = createServiceDataSource(opts);
  await ds.initialize();
  try {
    await migrate(ds, opts.schema);
  } catch (err) {
    await ds.destroy();
    throw err;
  }
  return ds;
}

export function postgresHealthCheck(ds: DataSource): HealthCheck {
  return async () => {
    if (!ds.isInitialized) throw new Error('postgres: data source is not connected');
    await ds.query('SELECT 1');
  };
}

/** `node main.js migrate`: apply pending migrations, report them, close. */
export async function runMigrationsCli(opts: ServiceDataSourceOptions): Promise<void> {
  assertSchemaName(opts.schema);
  await ensureSchema(opts.url, opts.schema);
  const ds = createServiceDataSource(opts);
  await ds.initialize();
  try {
    const applied = await migrate(ds, opts.schema);
    const names = applied.map((m) => m.name).join(', ');
    process.stdout.write(
      `${opts.schema}: ${applied.length === 0 ? 'no pending migrations' : `applied ${applied.length}: ${names}`}\n`,
    );
  } finally {
    await ds.destroy();
  }
}
