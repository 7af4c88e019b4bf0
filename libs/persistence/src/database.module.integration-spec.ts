import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { metricsRegistry } from '@ragmesh/observability';
import { DATA_SOURCE, DatabaseModule, migrationsTableName } from './index';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh';

describe('DatabaseModule.forRoot (real PostgreSQL)', () => {
  const schema = `dbmodule_it_${randomBytes(4).toString('hex')}`;

  afterAll(async () => {
    const client = new Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  it('provides the open, migrated data source of the schema and closes it on shutdown', async () => {
    @Module({ imports: [DatabaseModule.forRoot({ url: DATABASE_URL, schema, entities: [], migrations: [] })] })
    class TestModule {}
    const app = await NestFactory.createApplicationContext(TestModule, { logger: false });
    const ds = app.get<DataSource>(DATA_SOURCE);
    expect(ds.isInitialized).toBe(true);
    const rows: { table_name: string }[] = await ds.query(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
      [schema],
    );
    expect(rows.map((r) => r.table_name)).toContain(migrationsTableName(schema));

    // Pool use at scrape time: a held connection is in_use, and the pool's size is reported.
    const runner = ds.createQueryRunner();
    await runner.connect();
    const text = await metricsRegistry.metrics();
    expect(text).toMatch(new RegExp(`ragmesh_db_pool_connections\\{pool="${schema}",state="in_use"\\} [1-9]`));
    expect(text).toContain(`ragmesh_db_pool_max_connections{pool="${schema}"} 10`);
    expect(text).toContain(`ragmesh_db_pool_waiting_clients{pool="${schema}"} 0`);
    await runner.release();
    await app.close();
    expect(await metricsRegistry.metrics()).not.toContain(`pool="${schema}"`);
    expect(ds.isInitialized).toBe(false);
  });
});
