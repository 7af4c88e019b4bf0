import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { openServiceDataSource } from '@ragmesh/persistence';
import type { DataSource } from 'typeorm';
import { dataSourceOptions } from '../persistence/data-source';
import { PgReplicaDirectory } from './replica-directory.repository';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh';
const LIVE_WINDOW_MS = 30_000;

let ds: DataSource;
let directory: PgReplicaDirectory;
const replicaId = () => `it-${randomBytes(4).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  ds = await openServiceDataSource(dataSourceOptions({ DATABASE_URL }));
  directory = new PgReplicaDirectory(ds);
});
afterAll(() => ds?.destroy());

describe('PgReplicaDirectory (gateway.replicas)', () => {
  it('finds an announced replica live at its URL, and not live once withdrawn', async () => {
    const id = replicaId();
    await directory.announce(id, 'http://10.0.0.7:3000');
    expect(await directory.find(id, LIVE_WINDOW_MS)).toEqual({ id, internalUrl: 'http://10.0.0.7:3000', live: true });
    await directory.withdraw(id);
    expect(await directory.find(id, LIVE_WINDOW_MS)).toEqual({ id, internalUrl: 'http://10.0.0.7:3000', live: false });
    // Announcing again (a restart with a fixed id) makes it live at its new address.
    await directory.announce(id, 'http://10.0.0.8:3000');
    expect(await directory.find(id, LIVE_WINDOW_MS)).toEqual({ id, internalUrl: 'http://10.0.0.8:3000', live: true });
  });

  it('judges a replica gone when not seen within the window, live again after a heartbeat', async () => {
    const id = replicaId();
    await directory.announce(id, 'http://10.0.0.7:3000');
    await sleep(300);
    expect((await directory.find(id, 200))?.live).toBe(false);
    await directory.announce(id, 'http://10.0.0.7:3000');
    expect((await directory.find(id, 200))?.live).toBe(true);
  });

  it('knows nothing of a replica never announced, and prunes only rows not seen for the given time', async () => {
    expect(await directory.find(replicaId(), LIVE_WINDOW_MS)).toBeUndefined();
    const old = replicaId();
    await directory.announce(old, 'http://10.0.0.7:3000');
    await sleep(300);
    const recent = replicaId();
    await directory.announce(recent, 'http://10.0.0.9:3000');
    await directory.prune(200);
    expect(await directory.find(old, LIVE_WINDOW_MS)).toBeUndefined();
    expect(await directory.find(recent, LIVE_WINDOW_MS)).toMatchObject({ id: recent, live: true });
  });
});
