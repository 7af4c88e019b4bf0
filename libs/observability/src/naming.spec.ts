import { assertMetricName, DURATION_BUCKETS, MetricNameError, metricNameProblem, MetricsService } from './index';

describe('metric naming scheme', () => {
  it.each([
    ['counter', 'ragmesh_feedback_jobs_total'],
    ['gauge', 'ragmesh_outbox_pending'],
    ['histogram', 'ragmesh_generation_ttft_seconds'],
    ['histogram', 'ragmesh_retrieval_result_chunks'],
  ] as const)('accepts %s %s', (kind, name) => {
    expect(metricNameProblem(kind, name)).toBeUndefined();
  });

  it.each([
    ['counter', 'feedback_jobs_total', /prefix/],
    ['counter', 'ragmesh_FeedbackJobs_total', /snake case/],
    ['counter', 'ragmesh_feedback_jobs', /must end in _total/],
    ['gauge', 'ragmesh_outbox_pending_total', /only counters end in _total/],
    ['histogram', 'ragmesh_generation_ttft', /must end in its unit/],
    ['histogram', 'ragmesh_generation_ttft_ms', /non-base unit "ms"/],
    ['counter', 'ragmesh_wait_milliseconds_total', /non-base unit "milliseconds"/],
  ] as const)('rejects %s %s', (kind, name, reason) => {
    expect(metricNameProblem(kind, name)).toMatch(reason);
    expect(() => assertMetricName(kind, name)).toThrow(MetricNameError);
  });

  it('is enforced when a metric is created', () => {
    const metrics = new MetricsService();
    expect(() => metrics.counter('ragmesh_naming_probe', 'x')).toThrow('metric "ragmesh_naming_probe" is a counter and must end in _total');
    expect(() => metrics.histogram('naming_probe_seconds', 'x')).toThrow(MetricNameError);
    expect(metrics.registry.getSingleMetric('ragmesh_naming_probe')).toBeUndefined();
  });

  it('offers ascending bucket layouts in seconds', () => {
    for (const buckets of Object.values(DURATION_BUCKETS)) {
      expect([...buckets].sort((a, b) => a - b)).toEqual([...buckets]);
    }
    expect(DURATION_BUCKETS.training[0]).toBe(60);
  });
});
