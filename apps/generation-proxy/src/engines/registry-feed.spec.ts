import type { registry } from '@ragmesh/contracts';
import { MetricsService } from '@ragmesh/observability';
import { Registry } from 'prom-client';
import { loadRegistryFeedConfig, nextBackoff, RegistryFeed, toUpstreamSpecs, UpstreamListState } from './registry-feed';
import type { UpstreamSpec } from './upstream-pool';
import { fakeRegistry } from '../../test/fake-registry';

const upstream = (name: string, extra: Partial<registry.Upstream> = {}): registry.Upstream => ({
  id: `id-${name}`,
  name,
  baseUrl: `http://${name}:8000`,
  kind: 'vllm',
  models: ['qwen'],
  status: 'up',
  lastError: '',
  checkedAt: '',
  weight: 1,
  maxConcurrency: 0,
  labels: [],
  updatedAt: '',
  ...extra,
});

describe('registry feed: list state', () => {
  it('maps upstreams to pool specs, leaving out the local engine', () => {
    expect(
      toUpstreamSpecs([upstream('b', { maxConcurrency: 4, labels: ['multimodal'], models: ['qwen-vl'] }), upstream('local', { kind: 'local' }), upstream('a')]),
    ).toEqual([
      { url: 'http://a:8000', name: 'a', weight: 1 },
      { url: 'http://b:8000', name: 'b', weight: 1, maxConcurrency: 4, multimodalModels: ['qwen-vl'] },
    ]);
  });

  it('starts over on a snapshot and applies upserts and removals', () => {
    const state = new UpstreamListState();
    expect(state.apply({ type: 'snapshot', upstreams: [upstream('a'), upstream('b')], revision: 3, defaultAdapters: {} }).map((s) => s.name)).toEqual(['a', 'b']);
    expect(state.apply({ type: 'upserted', upstreams: [upstream('c')], revision: 4, defaultAdapters: {} }).map((s) => s.name)).toEqual(['a', 'b', 'c']);
    expect(state.apply({ type: 'removed', upstreams: [upstream('a')], revision: 5, defaultAdapters: {} }).map((s) => s.name)).toEqual(['b', 'c']);
    expect(state.apply({ type: 'snapshot', upstreams: [upstream('z')], revision: 1, defaultAdapters: {} }).map((s) => s.name)).toEqual(['z']);
  });

  it('doubles the backoff up to the cap', () => {
    expect(nextBackoff(500, 500, 3_000)).toBe(1_000);
    expect(nextBackoff(2_000, 500, 3_000)).toBe(3_000);
    expect(nextBackoff(0, 500, 3_000)).toBe(500);
  });
});

const waitFor = async (check: () => boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('registry feed over gRPC', () => {
  it('replaces the pool from the snapshot and changes, keeps the list while the registry is down, and reconnects', async () => {
    let list = [upstream('a')];
    const snapshot = () => ({ type: 'snapshot', upstreams: list, revision: 0, defaultAdapters: { qwen: 'qwen-ft-v1' } });
    let registryServer = await fakeRegistry(0, snapshot);
    const applied: UpstreamSpec[][] = [];
    const config = loadRegistryFeedConfig({
      GENERATION_UPSTREAMS_SOURCE: 'registry',
      REGISTRY_GRPC_URL: `127.0.0.1:${registryServer.port}`,
      REGISTRY_WATCH_BACKOFF_MS: '50',
      REGISTRY_WATCH_BACKOFF_MAX_MS: '200',
    });
    const metrics = new MetricsService(undefined, new Registry());
    const defaults: Record<string, string>[] = [];
    const target = { replaceUpstreams: (specs: readonly UpstreamSpec[]) => applied.push([...specs]), setDefaultAdapters: (d: Readonly<Record<string, string>>) => defaults.push({ ...d }) };
    const feed = new RegistryFeed(target, config, metrics);
    feed.onApplicationBootstrap();
    try {
      await waitFor(() => applied.length === 1);
      expect(applied[0].map((s) => s.name)).toEqual(['a']);
      registryServer.push({ type: 'upserted', upstreams: [upstream('b')], revision: 1, defaultAdapters: {} });
      await waitFor(() => applied.length === 2);
      expect(applied[1].map((s) => s.name)).toEqual(['a', 'b']);
      // Promote/rollback: the default adapters change, the upstream list is not re-applied.
      registryServer.push({ type: 'defaults', upstreams: [], revision: 2, defaultAdapters: { qwen: 'qwen-ft-v2' } });
      await waitFor(() => defaults.length === 2);
      expect(defaults).toEqual([{ qwen: 'qwen-ft-v1' }, { qwen: 'qwen-ft-v2' }]);
      expect(applied.length).toBe(2);
      expect(await metrics.registry.getSingleMetricAsString('ragmesh_generation_registry_watch_connected')).toMatch(/ 1$/mu);

      // The registry goes away: nothing is applied (the pool keeps a and b) while it is down.
      registryServer.stop();
      await new Promise((r) => setTimeout(r, 300));
      expect(applied.length).toBe(2);
      expect(await metrics.registry.getSingleMetricAsString('ragmesh_generation_registry_watch_connected')).toMatch(/ 0$/mu);

      // Back on the same port with a new list: the watch reconnects by itself and applies the snapshot.
      list = [upstream('c')];
      registryServer = await fakeRegistry(registryServer.port, snapshot);
      await waitFor(() => applied.length === 3, 5_000);
      expect(applied[2].map((s) => s.name)).toEqual(['c']);
    } finally {
      feed.onModuleDestroy();
      registryServer.stop();
    }
  });
});
