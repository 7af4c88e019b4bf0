import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { Column, DataSource, Entity, MigrationInterface, PrimaryGeneratedColumn, QueryRunner } from 'typeorm';
import {
  createServiceDataSource,
  openServiceDataSource,
  postgresHealthCheck,
  runMigrationsCli,
  ServiceDataSourceOptions,
} from './index';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh';

@Entity({ name: 'widgets' })
class Widget {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'text' })
  name!: string;
}

// Unqualified on purpose: the data source's search_path must put it in the service's schema.
class CreateWidgets1700000000000 implements MigrationInterface {
  name = 'CreateWidgets1700000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE TABLE widgets (id serial PRIMARY KEY, name text NOT NULL)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE widgets');
  }
}

describe('service data sources (real PostgreSQL)', () => {
  const schema = `persist_it_${randomBytes(4).toString('hex')}`;
  const opts: ServiceDataSourceOptions = {
    url: DATABASE_URL,
    schema,
    entities: [Widget],
    migrations: [CreateWidgets1700000000000],
  };
  const admin = new Client({ connectionString: DATABASE_URL });
  const opened: DataSource[] = [];

  const tablesIn = async (name: string): Promise<string[]> => {
    const res = await admin.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [name],
    );
    return res.rows.map((r) => r.table_name);
  };

  beforeAll(() => admin.connect());

  afterAll(async () => {
    for (const ds of opened) if (ds.isInitialized) await ds.destroy();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it('creates the schema, migrates inside it and keeps the migrations table there', async () => {
    const ds = await openServiceDataSource(opts);
    opened.push(ds);
    expect(await tablesIn(schema)).toEqual([`${schema}_migrations`, 'widgets']);
    const applied = await admin.query<{ name: string }>(`SELECT name FROM "${schema}"."${schema}_migrations"`);
    expect(applied.rows.map((r) => r.name)).toEqual(['CreateWidgets1700000000000']);
    expect(await tablesIn('public')).not.toContain('widgets');

    const repo = ds.getRepository(Widget);
    const saved = await repo.save(repo.create({ name: '위젯' }));
    expect(await repo.findOneByOrFail({ id: saved.id })).toEqual({ id: saved.id, name: '위젯' });
    expect(ds.options.synchronize).toBe(false);
  });

  it('opens again without re-running anything', async () => {
    const again = await openServiceDataSource(opts);
    opened.push(again);
    expect(await again.showMigrations()).toBe(false);
    const count = await admin.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${schema}"."${schema}_migrations"`);
    expect(count.rows[0].n).toBe('1');
    // The row written by the first open is still there: nothing was dropped or recreated.
    expect(await again.getRepository(Widget).count()).toBe(1);
  });

  it('has a health check that passes while connected and fails once closed', async () => {
    const ds = await openServiceDataSource(opts);
    const check = postgresHealthCheck(ds);
    await expect(check()).resolves.toBeUndefined();
    await ds.destroy();
    await expect(check()).rejects.toThrow('not connected');
  });

  it('runs concurrent opens safely (advisory lock)', async () => {
    const other = `${schema}_b`;
    const results: DataSource[] = [];
    try {
      results.push(...(await Promise.all([1, 2, 3].map(() => openServiceDataSource({ ...opts, schema: other })))));
      const rows = await admin.query(`SELECT name FROM "${other}"."${other}_migrations"`);
      expect(rows.rowCount).toBe(1);
    } finally {
      for (const ds of results) if (ds.isInitialized) await ds.destroy();
      await admin.query(`DROP SCHEMA IF EXISTS "${other}" CASCADE`);
    }
  });

  it('runMigrationsCli migrates a fresh schema and closes', async () => {
    const other = `${schema}_cli`;
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await runMigrationsCli({ ...opts, schema: other });
      expect(await tablesIn(other)).toEqual([`${other}_migrations`, 'widgets']);
      expect(write).toHaveBeenCalledWith(`${other}: applied 1: CreateWidgets1700000000000\n`);
      await runMigrationsCli({ ...opts, schema: other });
      expect(write).toHaveBeenLastCalledWith(`${other}: no pending migrations\n`);
    } finally {
      write.mockRestore();
      await admin.query(`DROP SCHEMA IF EXISTS "${other}" CASCADE`);
    }
  });

  it('refuses a schema name that is not a plain identifier', () => {
    expect(() => createServiceDataSource({ ...opts, schema: 'x"; DROP TABLE y; --' })).toThrow(/invalid schema name/);
  });
});
