import { Injectable } from '@nestjs/common';
import { MetricsService } from '@ragmesh/observability';
import type { Counter } from 'prom-client';
import { JOB_STATUSES, type JobStatus } from '../persistence/entities';

@Injectable()
export class FeedbackMetrics {
  readonly jobs: Counter<string>;

  constructor(metrics: MetricsService) {
    this.jobs = metrics.counter('ragmesh_feedback_jobs_total', 'Feedback job status transitions, by the status entered', ['status']);
    // Series exist from the start, so rates and alerts see 0 rather than no data.
    for (const status of JOB_STATUSES) this.jobs.inc({ status }, 0);
  }

  transition(status: JobStatus): void {
    this.jobs.inc({ status });
  }
}
