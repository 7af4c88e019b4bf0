import type { Metric, Registry } from 'prom-client';

/** One label set's buckets (not cumulative; summed up when scraped). */
class Series {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]) {
        this.counts[i]++;
        break;
      }
    }
    this.sum += seconds;
    this.count++;
  }
}

/**
 * A Prometheus histogram with one label (`upstream`) for a value observed once per streamed
 * token. prom-client's Histogram re-validates and re-hashes the labels on every `observe`, even
 * through `labels()`; this one resolves the series once per stream and then only bumps a bucket.
 * It registers itself on the given registry and renders the same text format (buckets, +Inf,
 * _sum, _count); the registry adds its default labels as for any metric.
 */
export class PerTokenHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  private constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  /** Idempotent by name, like MetricsService: a second app instance in one process shares it. */
  static register(registry: Registry, name: string, help: string, bounds: readonly number[]): PerTokenHistogram {
    const existing = registry.getSingleMetric(name) as unknown;
    if (existing instanceof PerTokenHistogram) return existing;
    const histogram = new PerTokenHistogram(name, help, bounds);
    registry.registerMetric(histogram as unknown as Metric);
    return histogram;
  }

  /** The series of one upstream; keep it for the stream's life. */
  child(upstream: string): { observe(seconds: number): void } {
    let series = this.series.get(upstream);
    if (!series) {
      series = new Series(this.bounds);
      this.series.set(upstream, series);
    }
    return series;
  }

  remove(upstream: string): void {
    this.series.delete(upstream);
  }

  reset(): void {
    this.series.clear();
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: { value: number; labels: Record<string, string | number>; metricName: string }[] }> {
    const values: { value: number; labels: Record<string, string | number>; metricName: string }[] = [];
    for (const [upstream, s] of this.series) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.counts[i];
        values.push({ value: cumulative, labels: { le, upstream }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: s.count, labels: { le: '+Inf', upstream }, metricName: `${this.name}_bucket` });
      values.push({ value: s.sum, labels: { upstream }, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: { upstream }, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}
