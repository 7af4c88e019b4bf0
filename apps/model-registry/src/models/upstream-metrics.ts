import { maxOf, parsePrometheusText, sumOf } from './prometheus-text';

/** What the registry keeps from an upstream's /metrics (vLLM names; missing ones stay undefined). */
export interface UpstreamMetrics {
  /** 0..1 */
  kvCacheUsage?: number;
  runningRequests?: number;
  waitingRequests?: number;
  memoryBytes?: number;
  processStartSeconds?: number;
  device?: string;
}

// vLLM V1 renamed gpu_cache_usage_perc to kv_cache_usage_perc; both are read.
const KV_CACHE = ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'];

export function readUpstreamMetrics(text: string): UpstreamMetrics {
  const samples = parsePrometheusText(text);
  const gpuBlocks = samples.find((s) => s.name === 'vllm:cache_config_info')?.labels.num_gpu_blocks;
  return {
    kvCacheUsage: maxOf(samples, KV_CACHE),
    runningRequests: sumOf(samples, ['vllm:num_requests_running']),
    waitingRequests: sumOf(samples, ['vllm:num_requests_waiting']),
    memoryBytes: sumOf(samples, ['process_resident_memory_bytes']),
    processStartSeconds: maxOf(samples, ['process_start_time_seconds']),
    device: gpuBlocks === undefined ? undefined : Number(gpuBlocks) > 0 ? 'cuda' : 'cpu',
  };
}
