/**
 * The fake's /metrics, named as vLLM names them (v0.6+ / v1 engine), so dashboards and
 * scrapers built against vLLM read the fake unchanged. Values follow the fake's traffic.
 */

// vLLM's own bucket edges for these two histograms.
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const INTER_TOKEN_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];

class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(private readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(seconds: number): void {
    // Buckets are cumulative in the exposition; store per bucket and sum up when rendering.
    const i = this.buckets.findIndex((le) => seconds <= le);
    if (i >= 0) this.counts[i]++;
    this.sum += seconds;
    this.count++;
  }

  lines(name: string, label: string): string[] {
    let cumulative = 0;
    return [
      ...this.buckets.map((le, i) => {
        cumulative += this.counts[i];
        return `${name}_bucket{le="${le}",${label}} ${cumulative}`;
      }),
      `${name}_bucket{le="+Inf",${label}} ${this.count}`,
      `${name}_sum{${label}} ${this.sum}`,
      `${name}_count{${label}} ${this.count}`,
    ];
  }
}

export interface VllmGauges {
  running: number;
  waiting: number;
  /** KV-cache blocks in use, 0..1. */
  kvCacheUsage: number;
}

export class VllmMetrics {
  readonly ttft = new Histogram(TTFT_BUCKETS);
  readonly interToken = new Histogram(INTER_TOKEN_BUCKETS);
  promptTokens = 0;
  generationTokens = 0;
  prefixCacheQueries = 0;
  prefixCacheHits = 0;
  readonly finished = new Map<string, number>();

  requestFinished(reason: string): void {
    this.finished.set(reason, (this.finished.get(reason) ?? 0) + 1);
  }

  text(modelId: string, gauges: VllmGauges): string {
    const label = `model_name="${modelId}"`;
    const metric = (name: string, type: string, help: string, values: string[]) => [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...values];
    const lines = [
      ...metric('vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.', [`vllm:num_requests_running{${label}} ${gauges.running}`]),
      ...metric('vllm:num_requests_waiting', 'gauge', 'Number of requests waiting to be processed.', [`vllm:num_requests_waiting{${label}} ${gauges.waiting}`]),
      ...metric('vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage. 1 means 100 percent usage.', [`vllm:kv_cache_usage_perc{${label}} ${gauges.kvCacheUsage}`]),
      // The pre-v1 name of the same gauge; older dashboards still read it.
      ...metric('vllm:gpu_cache_usage_perc', 'gauge', 'GPU KV-cache usage. 1 means 100 percent usage.', [`vllm:gpu_cache_usage_perc{${label}} ${gauges.kvCacheUsage}`]),
      ...metric('vllm:prompt_tokens_total', 'counter', 'Number of prefill tokens processed.', [`vllm:prompt_tokens_total{${label}} ${this.promptTokens}`]),
      ...metric('vllm:generation_tokens_total', 'counter', 'Number of generation tokens processed.', [`vllm:generation_tokens_total{${label}} ${this.generationTokens}`]),
      ...metric('vllm:prefix_cache_queries_total', 'counter', 'Prefix cache queries, in terms of number of queried tokens.', [
        `vllm:prefix_cache_queries_total{${label}} ${this.prefixCacheQueries}`,
      ]),
      ...metric('vllm:prefix_cache_hits_total', 'counter', 'Prefix cache hits, in terms of number of cached tokens.', [
        `vllm:prefix_cache_hits_total{${label}} ${this.prefixCacheHits}`,
      ]),
      ...metric(
        'vllm:request_success_total',
        'counter',
        'Count of successfully processed requests.',
        [...this.finished].map(([reason, n]) => `vllm:request_success_total{finished_reason="${reason}",${label}} ${n}`),
      ),
      ...metric('vllm:time_to_first_token_seconds', 'histogram', 'Histogram of time to first token in seconds.', this.ttft.lines('vllm:time_to_first_token_seconds', label)),
      ...metric(
        'vllm:inter_token_latency_seconds',
        'histogram',
        'Histogram of inter-token latency in seconds.',
        this.interToken.lines('vllm:inter_token_latency_seconds', label),
      ),
    ];
    return `${lines.join('\n')}\n`;
  }
}
