import { Injectable } from '@nestjs/common';
import { MetricsService } from '@ragmesh/observability';
import type { Counter, Histogram } from 'prom-client';

export const SUMMARY_OUTCOMES = ['summarized', 'republished', 'duplicate', 'covered', 'stale', 'rejected', 'failed'] as const;
export type SummaryOutcome = (typeof SUMMARY_OUTCOMES)[number];

// Summaries of a local extractive engine take milliseconds; an upstream LLM can take tens of seconds.
const SUMMARIZE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

@Injectable()
export class SummarizerMetrics {
  readonly summaries: Counter<string>;
  readonly duration: Histogram<string>;

  constructor(metrics: MetricsService) {
    this.summaries = metrics.counter('ragmesh_summaries_total', 'conversation.turn.completed messages handled, by outcome', ['outcome']);
    this.duration = metrics.histogram(
      'ragmesh_summarize_duration_seconds',
      'Duration of the generation proxy Summarize call, by gRPC outcome',
      ['outcome'],
      SUMMARIZE_BUCKETS,
    );
    // Series exist from the start, so rates and alerts see 0 rather than no data.
    for (const outcome of SUMMARY_OUTCOMES) this.summaries.inc({ outcome }, 0);
  }

  outcome(outcome: SummaryOutcome): void {
    this.summaries.inc({ outcome });
  }
}
