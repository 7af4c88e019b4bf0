import { Injectable } from '@nestjs/common';
import { MetricsService } from '@ragmesh/observability';
import type { Counter, Gauge, Histogram } from 'prom-client';

// Training takes minutes to hours: 1, 5, 10, 20, 30 min, 1, 2, 4, 8, 24 h.
export const TRAINING_DURATION_BUCKETS = [60, 300, 600, 1_200, 1_800, 3_600, 7_200, 14_400, 28_800, 86_400];

@Injectable()
export class TrainingMetrics {
  private readonly examples: Counter<string>;
  private readonly runs: Counter<string>;
  private readonly duration: Histogram<string>;
  private readonly sincePromotion: Gauge<string>;
  private readonly pending: Gauge<string>;
  private readonly webhooks: Counter<string>;
  private lastPromotion: Date | null = null;

  constructor(metrics: MetricsService) {
    this.examples = metrics.counter('ragmesh_registry_examples_total', 'Rated turns seen by the dataset collector, by outcome (accepted or the filter that rejected it)', ['outcome']);
    this.runs = metrics.counter('ragmesh_registry_training_runs_total', 'Training runs by outcome (succeeded, failed, stopped) and retried attempts', ['outcome']);
    this.duration = metrics.histogram('ragmesh_registry_training_duration_seconds', 'Wall time of finished training runs, submit to end', ['outcome'], TRAINING_DURATION_BUCKETS);
    this.sincePromotion = metrics.gauge('ragmesh_registry_time_since_last_promotion_seconds', 'Seconds since an adapter was last promoted (absent until one is)');
    this.pending = metrics.gauge('ragmesh_registry_pending_examples', 'Accepted examples waiting for the next training run');
    this.webhooks = metrics.counter('ragmesh_registry_webhook_deliveries_total', 'Webhook deliveries by outcome after retries', ['outcome']);
  }

  example(outcome: string): void {
    this.examples.inc({ outcome });
  }

  run(outcome: 'succeeded' | 'failed' | 'stopped' | 'retried', durationSeconds?: number): void {
    this.runs.inc({ outcome });
    if (durationSeconds !== undefined) this.duration.observe({ outcome }, durationSeconds);
  }

  webhook(delivered: boolean): void {
    this.webhooks.inc({ outcome: delivered ? 'delivered' : 'failed' });
  }

  promoted(at: Date): void {
    this.lastPromotion = at;
    this.refresh();
  }

  setPending(count: number): void {
    this.pending.set(count);
  }

  /** Gauges of elapsed time are refreshed on every training tick. */
  refresh(lastPromotion: Date | null = this.lastPromotion, now = Date.now()): void {
    this.lastPromotion = lastPromotion;
    if (lastPromotion) this.sincePromotion.set((now - lastPromotion.getTime()) / 1000);
  }
}
