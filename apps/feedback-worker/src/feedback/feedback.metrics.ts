import { Injectable } from '@nestjs/common';
import { MetricsService } from '@ragmesh/observability';
import type { Counter, Histogram } from 'prom-client';
import { JOB_STATUSES, type JobStatus } from '../persistence/entities';

/** One attempt: a local-engine job takes milliseconds, an LLM upstream plus a slow callback up to minutes. */
export const ATTEMPT_DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
export type AttemptOutcome = Extract<JobStatus, 'succeeded' | 'failed' | 'dead'>;

@Injectable()
export class FeedbackMetrics {
  readonly jobs: Counter<string>;
  readonly attemptDuration: Histogram<string>;

  constructor(metrics: MetricsService) {
    this.jobs = metrics.counter('ragmesh_feedback_jobs_total', 'Feedback job status transitions, by the status entered', ['status']);
    this.attemptDuration = metrics.histogram(
      'ragmesh_feedback_job_attempt_duration_seconds',
      'Time of one feedback job attempt (generation + callback), from running to its outcome',
      ['outcome'],
      ATTEMPT_DURATION_BUCKETS,
    );
    // Series exist from the start, so rates and alerts see 0 rather than no data.
    for (const status of JOB_STATUSES) this.jobs.inc({ status }, 0);
  }

  transition(status: JobStatus): void {
    this.jobs.inc({ status });
  }

  attemptFinished(outcome: AttemptOutcome, seconds: number): void {
    this.attemptDuration.observe({ outcome }, seconds);
  }
}
