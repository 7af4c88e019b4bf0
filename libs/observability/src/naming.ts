/**
 * The one naming scheme for ragmesh's own series (Prometheus' conventions): a `ragmesh_`
 * prefix, lower snake case, base units, counters ending in `_total`, histograms ending in the
 * unit they measure. Process metrics keep prom-client's standard names (process_*, nodejs_*)
 * so stock dashboards and alerts keep working.
 */
export const METRIC_PREFIX = 'ragmesh_';

export type MetricKind = 'counter' | 'gauge' | 'histogram';

/** Units a histogram may measure, in base units (seconds, not milliseconds). */
export const HISTOGRAM_UNITS = ['seconds', 'bytes', 'tokens', 'chunks', 'messages', 'ratio'] as const;

const NAME_PATTERN = /^ragmesh_[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
// Non-base units: a series in ms next to one in seconds is how dashboards end up off by 1000.
const FORBIDDEN_UNIT_SUFFIXES = ['_ms', '_milliseconds', '_microseconds', '_minutes', '_hours', '_kb', '_mb', '_percent'];

export class MetricNameError extends Error {}

/** Why a name breaks the scheme, or undefined when it follows it. */
export function metricNameProblem(kind: MetricKind, name: string): string | undefined {
  if (!NAME_PATTERN.test(name)) return `must match ${NAME_PATTERN.source} (the ${METRIC_PREFIX} prefix, lower snake case)`;
  const unit = FORBIDDEN_UNIT_SUFFIXES.find((suffix) => name.endsWith(suffix) || name.endsWith(`${suffix}_total`));
  if (unit !== undefined) return `uses the non-base unit "${unit.slice(1)}" (use seconds, bytes or a ratio)`;
  if (kind === 'counter' && !name.endsWith('_total')) return 'is a counter and must end in _total';
  if (kind !== 'counter' && name.endsWith('_total')) return `is a ${kind}; only counters end in _total`;
  if (kind === 'histogram' && !HISTOGRAM_UNITS.some((unit) => name.endsWith(`_${unit}`))) {
    return `is a histogram and must end in its unit: ${HISTOGRAM_UNITS.map((u) => `_${u}`).join(', ')}`;
  }
  return undefined;
}

export function assertMetricName(kind: MetricKind, name: string): void {
  const problem = metricNameProblem(kind, name);
  if (problem !== undefined) throw new MetricNameError(`metric "${name}" ${problem}`);
}

/**
 * Histogram buckets by what they measure, in seconds. Pick the closest; a bucket layout that
 * puts every observation in one bucket makes every quantile a guess.
 */
export const DURATION_BUCKETS = {
  /** In-memory work (an index search, a cache look-up): 0.5 ms .. 2.5 s. */
  inMemory: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  /** A request/response call (HTTP, unary gRPC, a database query): 5 ms .. 60 s. */
  request: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  /** Time to first token: milliseconds for a local engine, seconds for a cold GPU upstream. */
  ttft: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
  /** Gap between streamed tokens: a GPU emits one every 10–100 ms. */
  interToken: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 0.6, 1.2, 2.5],
  /** Background jobs (a feedback generation with its callback, a summary): 50 ms .. 10 min. */
  job: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
  /** Training runs on the cluster: 1 minute .. 12 hours. */
  training: [60, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 43200],
} as const satisfies Record<string, readonly number[]>;
