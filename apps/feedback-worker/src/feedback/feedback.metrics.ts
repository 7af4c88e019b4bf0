import { Injectable } from '@nestjs/common';
import { MetricsService } from '@ragmesh/observability';
import type { Counter } from 'prom-client';
import type { JobStatus } from '../persistence/entities';

@Injectable()
export class FeedbackMetrics {
  readonly jobs: Counter<string>;

  constructor(metrics: MetricsService) {
    this.jobs = metrics.counter('feedback_jobs_total', 'Feedback job status transitions, by the status entered', ['status']);
  }

  transition(status: JobStatus): void {
    this.jobs.inc({ status });
  }
}
