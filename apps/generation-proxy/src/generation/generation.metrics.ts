import { Injectable } from '@nestjs/common';
import { MetricsService } from '@ragmesh/observability';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { BREAKER_STATE_VALUE, type BreakerState } from '../engines/circuit-breaker';
import type { PoolObserver, UpstreamErrorCause } from '../engines/upstream-pool';
import type { AdmissionSnapshot } from './admission-control';

export type RequestOutcome = 'ok' | 'error' | 'cancelled' | 'rejected' | 'not_found';

// Local answers take milliseconds, a cold GPU upstream several seconds.
const TTFT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

@Injectable()
export class GenerationMetrics implements PoolObserver {
  private readonly upstreamInFlight: Gauge<string>;
  private readonly breaker: Gauge<string>;
  private readonly upstreamErrors: Counter<string>;
  private readonly requests: Counter<string>;
  private readonly ttft: Histogram<string>;
  private readonly tokens: Counter<string>;
  private readonly inFlight: Gauge<string>;
  private readonly queued: Gauge<string>;

  constructor(metrics: MetricsService) {
    this.requests = metrics.counter('ragmesh_generation_requests_total', 'Generation requests by engine and outcome', [
      'engine',
      'outcome',
    ]);
    this.ttft = metrics.histogram(
      'ragmesh_generation_ttft_seconds',
      'Time from request to first token (queue wait included)',
      ['engine'],
      TTFT_BUCKETS,
    );
    this.tokens = metrics.counter('ragmesh_generation_tokens_total', 'Tokens reported by the engines, by kind', ['kind']);
    this.inFlight = metrics.gauge('ragmesh_generation_in_flight', 'Generation requests currently running');
    this.queued = metrics.gauge('ragmesh_generation_queue_depth', 'Generation requests waiting for a slot');
    this.upstreamInFlight = metrics.gauge('ragmesh_generation_upstream_in_flight', 'Requests outstanding per upstream', ['upstream']);
    this.breaker = metrics.gauge(
      'ragmesh_generation_upstream_breaker_state',
      'Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open',
      ['upstream'],
    );
    this.upstreamErrors = metrics.counter('ragmesh_generation_upstream_errors_total', 'Upstream attempt failures by cause', [
      'upstream',
      'cause',
    ]);
  }

  inFlightChanged(upstream: string, value: number): void {
    this.upstreamInFlight.set({ upstream }, value);
  }

  breakerChanged(upstream: string, state: BreakerState): void {
    this.breaker.set({ upstream }, BREAKER_STATE_VALUE[state]);
  }

  attemptFailed(upstream: string, cause: UpstreamErrorCause): void {
    this.upstreamErrors.inc({ upstream, cause });
  }

  request(engine: string, outcome: RequestOutcome): void {
    this.requests.inc({ engine, outcome });
  }

  firstToken(engine: string, seconds: number): void {
    this.ttft.observe({ engine }, seconds);
  }

  usage(promptTokens: number, completionTokens: number): void {
    this.tokens.inc({ kind: 'prompt' }, promptTokens);
    this.tokens.inc({ kind: 'completion' }, completionTokens);
  }

  admission(snapshot: AdmissionSnapshot): void {
    this.inFlight.set(snapshot.inFlight);
    this.queued.set(snapshot.queued);
  }
}
