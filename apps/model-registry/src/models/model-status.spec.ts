import { upstreamRecord } from '../../test/it-helpers';
import { nextModelStatus } from './model-status';
import type { ModelStatusRecord } from './model-status.repository';
import { readUpstreamMetrics } from './upstream-metrics';

const upstream = upstreamRecord('gpu-a', { id: 'u1', baseUrl: 'http://gpu-a:8000' });

const T0 = new Date('2026-01-01T00:00:00Z');
const T1 = new Date('2026-01-01T00:00:10Z');

const VLLM_METRICS = `# HELP vllm:kv_cache_usage_perc KV-cache usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="qwen"} 0.25
vllm:num_requests_running{engine="0",model_name="qwen"} 3
vllm:num_requests_waiting{engine="0",model_name="qwen"} 2
vllm:cache_config_info{block_size="16",num_gpu_blocks="2048"} 1
process_resident_memory_bytes 2.5e9
process_start_time_seconds ${T0.getTime() / 1000 - 40}
`;

describe('vLLM /metrics', () => {
  it('reads KV-cache use, queue, memory, start time and device', () => {
    expect(readUpstreamMetrics(VLLM_METRICS)).toEqual({
      kvCacheUsage: 0.25,
      runningRequests: 3,
      waitingRequests: 2,
      memoryBytes: 2.5e9,
      processStartSeconds: T0.getTime() / 1000 - 40,
      device: 'cuda',
    });
  });

  it('falls back to the older gpu_cache_usage_perc name and leaves missing ones undefined', () => {
    expect(readUpstreamMetrics('vllm:gpu_cache_usage_perc{model_name="m"} 0.5\n')).toEqual({ kvCacheUsage: 0.5 });
  });
});

describe('nextModelStatus', () => {
  const probe = { up: true, models: ['qwen', 'qwen-lora-v1'], error: null, served: [{ id: 'qwen', parent: null }, { id: 'qwen-lora-v1', parent: 'qwen' }], metrics: readUpstreamMetrics(VLLM_METRICS) };

  it('records base models and adapters as loaded, with the load time measured from process start', () => {
    const { rows, changes } = nextModelStatus(upstream, [], probe, T0);
    expect(rows.find((r) => r.model === 'qwen')).toMatchObject({ kind: 'base', loaded: true, loadedAt: T0, loadDurationSeconds: 40, kvCacheUsage: 0.25, runningRequests: 3, waitingRequests: 2, device: 'cuda' });
    expect(rows.find((r) => r.model === 'qwen-lora-v1')).toMatchObject({ kind: 'adapter', baseModel: 'qwen', loaded: true, loadDurationSeconds: null });
    expect(changes.map((c) => `${c.model}:${c.previouslyLoaded}->${c.loaded}`)).toEqual(['qwen:false->true', 'qwen-lora-v1:false->true']);
  });

  it('keeps the first load time while a model stays loaded, and prefers a device label', () => {
    const first = nextModelStatus(upstream, [], probe, T0).rows;
    const { rows, changes } = nextModelStatus({ ...upstream, labels: ['device=cuda:1'], checkedAt: T0 }, first, probe, T1);
    expect(rows.find((r) => r.model === 'qwen')).toMatchObject({ loadedAt: T0, loadDurationSeconds: 40, device: 'cuda:1', checkedAt: T1 });
    expect(changes).toEqual([]);
  });

  it('marks every model unloaded with the reason when the upstream is down, and an unlisted adapter as unloaded', () => {
    const first = nextModelStatus(upstream, [], probe, T0).rows;
    const down = nextModelStatus(upstream, first, { up: false, models: [], error: 'ECONNREFUSED' }, T1);
    expect(down.rows.every((r: ModelStatusRecord) => !r.loaded && r.lastError === 'ECONNREFUSED')).toBe(true);
    expect(down.changes.map((c) => c.model)).toEqual(['qwen', 'qwen-lora-v1']);
    const unloaded = nextModelStatus(upstream, first, { ...probe, models: ['qwen'], served: [{ id: 'qwen', parent: null }] }, T1);
    expect(unloaded.changes).toEqual([{ upstream: 'gpu-a', model: 'qwen-lora-v1', kind: 'adapter', loaded: false, previouslyLoaded: true, lastError: null }]);
  });
});
