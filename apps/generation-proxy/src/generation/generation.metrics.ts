import { Injectable } from '@nestjs/common';
import { MetricsService } from '@ragmesh/observability';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { BREAKER_STATE_VALUE, type BreakerState } from '../engines/circuit-breaker';
import type { PoolObserver, UpstreamErrorCause } from '../engines/upstream-pool';
import type { AdmissionSnapshot } from './admission-control';
import { PerTokenHistogram } from './token-gap-histogram';

export type RequestOutcome = 'ok' | 'error' | 'cancelled' | 'rejected' | 'not_found' | 'unsupported';

// Millisecond ranges: the proxy adds ~1 ms, a warm GPU answers in 20–200 ms, a cold or queued one in seconds.
const TTFT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// A decode step is 5–50 ms on a GPU; sub-millisecond gaps are tokens arriving in bursts.
const INTER_TOKEN_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1];
const QUEUE_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Times one stream: TTFT at creation (the first token), then the gap before every later token. */
class StreamTimer {
  private last: number;
  constructor(
    private readonly gaps: { observe(value: number): void },
    firstTokenAt: number,
  ) {
    this.last = firstTokenAt;
  }

  token(): void {
    const now = performance.now();
    this.gaps.observe((now - this.last) / 1000);
    this.last = now;
  }
}

@Injectable()
export class GenerationMetrics implements PoolObserver {
  private readonly upstreamInFlight: Gauge<string>;
  private readonly breaker: Gauge<string>;
  private readonly upstreamErrors: Counter<string>;
  private readonly requests: Counter<string>;
  private readonly ttft: Histogram<string>;
  private readonly interToken: PerTokenHistogram;
  private readonly tokens: Counter<string>;
  private readonly inFlight: Gauge<string>;
  private readonly queued: Gauge<string>;
  private readonly upstreamQueued: Gauge<string>;
  private readonly queueWait: Histogram<string>;

  constructor(metrics: MetricsService) {
    this.requests = metrics.counter('ragmesh_generation_requests_total', 'Generation requests by engine and outcome', [
      'engine',
      'outcome',
    ]);
    this.ttft = metrics.histogram(
      'ragmesh_generation_ttft_seconds',
      'Time from request to first token (queue wait included), by serving upstream',
      ['upstream'],
      TTFT_BUCKETS,
    );
    // Observed once per token: a lighter histogram than prom-client's (see PerTokenHistogram).
    this.interToken = PerTokenHistogram.register(
      metrics.registry,
      'ragmesh_generation_inter_token_seconds',
      'Gap between consecutive streamed tokens, by serving upstream',
      INTER_TOKEN_BUCKETS,
    );
    this.tokens = metrics.counter('ragmesh_generation_tokens_total', 'Tokens in (prompt) and out (completion) by upstream', [
      'upstream',
      'kind',
    ]);
    this.inFlight = metrics.gauge('ragmesh_generation_in_flight', 'Local-engine generation requests currently running');
    this.queued = metrics.gauge('ragmesh_generation_queue_depth', 'Local-engine generation requests waiting for a slot');
    this.upstreamQueued = metrics.gauge('ragmesh_generation_upstream_queued', 'Requests waiting for a free upstream slot');
    this.queueWait = metrics.histogram(
      'ragmesh_generation_queue_wait_seconds',
      'Time a request waited for an upstream slot (0 when one was free)',
      [],
      QUEUE_WAIT_BUCKETS,
    );
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

  queueChanged(queued: number): void {
    this.upstreamQueued.set(queued);
  }

  queueWaited(seconds: number): void {
    this.queueWait.observe(seconds);
  }

  upstreamRemoved(upstream: string): void {
    this.upstreamInFlight.remove({ upstream });
    this.breaker.remove({ upstream });
    this.interToken.remove(upstream);
  }

  request(engine: string, outcome: RequestOutcome): void {
    this.requests.inc({ engine, outcome });
  }

  /** Call at the first token: records TTFT and returns the timer for the following ones. */
  tokenTimer(upstream: string, startedAt: number): StreamTimer {
    const now = performance.now();
    this.ttft.observe({ upstream }, (now - startedAt) / 1000);
    return new StreamTimer(this.interToken.child(upstream), now);
  }

  usage(upstream: string, promptTokens: number, completionTokens: number): void {
    this.tokens.inc({ upstream, kind: 'prompt' }, promptTokens);
    this.tokens.inc({ upstream, kind: 'completion' }, completionTokens);
  }

  admission(snapshot: AdmissionSnapshot): void {
    this.inFlight.set(snapshot.inFlight);
    this.queued.set(snapshot.queued);
  }
}
