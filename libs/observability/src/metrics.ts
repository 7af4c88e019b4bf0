import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { assertMetricName } from './naming';

/** The process-wide registry: everything /metrics serves. */
export const metricsRegistry = new Registry();

let defaultMetricsCollected = false;

/** Labels every series with the service and starts the process metrics (once per process). */
export function initMetrics(service: string, registry: Registry = metricsRegistry): void {
  registry.setDefaultLabels({ service });
  if (registry === metricsRegistry) {
    if (defaultMetricsCollected) return;
    defaultMetricsCollected = true;
  }
  collectDefaultMetrics({ register: registry });
}

export function getOrCreateCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[] = [],
): Counter<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<string>;
  assertMetricName('counter', name);
  return new Counter({ name, help, labelNames, registers: [registry] });
}

export function getOrCreateHistogram(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[] = [],
  buckets?: number[],
): Histogram<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Histogram<string>;
  assertMetricName('histogram', name);
  return new Histogram({ name, help, labelNames, registers: [registry], ...(buckets ? { buckets } : {}) });
}

/** `collect`, when given, runs at every scrape to set the gauge's values (e.g. a pool's size). */
export function getOrCreateGauge(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[] = [],
  collect?: (this: Gauge<string>) => void | Promise<void>,
): Gauge<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<string>;
  assertMetricName('gauge', name);
  return new Gauge({ name, help, labelNames, registers: [registry], ...(collect ? { collect } : {}) });
}

/**
 * Metrics for a service. Names must follow the naming scheme (naming.ts): a bad name throws
 * when the metric is created, so the first test that touches it fails. Asking twice for the same name returns the same metric, so
 * features can declare what they use without coordinating registration.
 */
export class MetricsService {
  readonly registry: Registry;

  constructor(service?: string, registry: Registry = metricsRegistry) {
    this.registry = registry;
    if (service !== undefined) initMetrics(service, registry);
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter<string> {
    return getOrCreateCounter(this.registry, name, help, labelNames);
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets?: number[]): Histogram<string> {
    return getOrCreateHistogram(this.registry, name, help, labelNames, buckets);
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge<string> {
    return getOrCreateGauge(this.registry, name, help, labelNames);
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
