import { MetricsService } from '@ragmesh/observability';
import { Registry } from 'prom-client';
import { ProbeResult, UpstreamProber } from './upstream-prober';
import { UpstreamWatcher } from './upstream-watcher';
import { ProbeOutcome, UpstreamRecord, UpstreamRepository, UpstreamUpsert } from './upstream.repository';
import { ListModelsUseCase } from './upstreams.use-cases';

class MemoryRepository extends UpstreamRepository {
  readonly rows: UpstreamRecord[] = [];
  list(): Promise<UpstreamRecord[]> {
    return Promise.resolve([...this.rows].sort((a, b) => a.name.localeCompare(b.name)));
  }
  upsert(u: UpstreamUpsert): Promise<UpstreamRecord> {
    const record: UpstreamRecord = { id: `id-${u.name}`, weight: 1, maxConcurrency: 0, labels: [], ...u, lastError: null, checkedAt: null, updatedAt: new Date() };
    this.rows.push(record);
    return Promise.resolve(record);
  }
  update(): Promise<UpstreamRecord | null> {
    return Promise.reject(new Error('not used by the watcher'));
  }
  remove(): Promise<UpstreamRecord | null> {
    return Promise.reject(new Error('not used by the watcher'));
  }
  listProbeTargets(): Promise<UpstreamRecord[]> {
    return Promise.resolve(this.rows.filter((r) => r.kind !== 'local'));
  }
  recordProbe(id: string, outcome: ProbeOutcome): Promise<void> {
    const row = this.rows.find((r) => r.id === id);
    if (row) Object.assign(row, { status: outcome.status, lastError: outcome.lastError, checkedAt: outcome.checkedAt }, outcome.models ? { models: outcome.models } : {});
    return Promise.resolve();
  }
}

class TableProber extends UpstreamProber {
  readonly probed: string[] = [];
  constructor(private readonly answers: Record<string, ProbeResult>) {
    super();
  }
  probe(baseUrl: string): Promise<ProbeResult> {
    this.probed.push(baseUrl);
    return Promise.resolve(this.answers[baseUrl]);
  }
}

async function seeded(): Promise<MemoryRepository> {
  const repo = new MemoryRepository();
  await repo.upsert({ name: 'local', baseUrl: 'local://generation-proxy', kind: 'local', models: ['local-extractive'], status: 'up' });
  await repo.upsert({ name: 'a-up', baseUrl: 'http://a', kind: 'vllm', models: ['stale'], status: 'unknown' });
  await repo.upsert({ name: 'b-down', baseUrl: 'http://b', kind: 'ray-serve', models: ['kept'], status: 'up' });
  return repo;
}

describe('UpstreamWatcher', () => {
  it('probes every non-local upstream and records status, models and errors', async () => {
    const repo = await seeded();
    const prober = new TableProber({
      'http://a': { up: true, models: ['qwen', 'qwen-lora'], error: null },
      'http://b': { up: false, models: [], error: 'ECONNREFUSED' },
    });
    const registry = new Registry();
    const watcher = new UpstreamWatcher(repo, prober, { pollMs: 1_000 }, new MetricsService(undefined, registry));
    await watcher.checkAll();

    expect(prober.probed.sort()).toEqual(['http://a', 'http://b']);
    const rows = await repo.list();
    const a = rows.find((r) => r.name === 'a-up');
    const b = rows.find((r) => r.name === 'b-down');
    expect(a).toMatchObject({ status: 'up', models: ['qwen', 'qwen-lora'], lastError: null });
    expect(a?.checkedAt).toBeInstanceOf(Date);
    // A failed probe keeps the last known models: they come back with the server.
    expect(b).toMatchObject({ status: 'down', models: ['kept'], lastError: 'ECONNREFUSED' });
    expect(await registry.getSingleMetricAsString('ragmesh_registry_upstream_up')).toContain('ragmesh_registry_upstream_up{upstream="b-down"} 0');
  });

  it('lists models of the local engine first, then of upstreams that are up', async () => {
    const repo = await seeded();
    repo.rows[1].status = 'up';
    repo.rows[2].status = 'down';
    const models = await new ListModelsUseCase(repo).execute();
    expect(models).toEqual([
      { id: 'local-extractive', ownedBy: 'local', upstream: 'local', kind: 'local' },
      { id: 'stale', ownedBy: 'a-up', upstream: 'a-up', kind: 'vllm' },
    ]);
  });
});
