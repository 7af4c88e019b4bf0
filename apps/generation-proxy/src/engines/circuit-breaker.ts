/**
 * Per-upstream circuit breaker: closed → open after `failureThreshold` consecutive failures
 * (or at once on a trip, e.g. no first token in time) → half-open after `cooldownMs`, where
 * one trial request decides: success closes it, failure opens it again.
 *
 * A small state machine rather than opossum: opossum wraps one promise-returning call, while
 * a streamed generation succeeds or fails somewhere inside an async iterator, after the pool
 * has already chosen the upstream.
 */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** Gauge values for the breaker state metric. */
export const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

export interface CircuitBreakerOptions {
  failureThreshold: number;
  cooldownMs: number;
  now?: () => number;
  onStateChange?: (state: BreakerState) => void;
}

export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private readonly now: () => number;

  constructor(private readonly opts: CircuitBreakerOptions) {
    if (!Number.isInteger(opts.failureThreshold) || opts.failureThreshold < 1) {
      throw new RangeError(`failureThreshold must be a positive integer, got ${opts.failureThreshold}`);
    }
    this.now = opts.now ?? Date.now;
  }

  /** The state, with an expired cool-down already turned into half-open. */
  get current(): BreakerState {
    if (this.state === 'open' && this.now() - this.openedAt >= this.opts.cooldownMs) this.transition('half_open');
    return this.state;
  }

  /** Whether a new request may be sent now (without taking the half-open trial slot). */
  canAttempt(): boolean {
    const state = this.current;
    return state === 'closed' || (state === 'half_open' && !this.trialInFlight);
  }

  /** Call when a request is actually sent; in half-open it takes the single trial slot. */
  onAttempt(): void {
    if (this.current === 'half_open') this.trialInFlight = true;
  }

  /** The attempt ended with no verdict (the caller cancelled): free the half-open trial slot. */
  onAbandoned(): void {
    this.trialInFlight = false;
  }

  onSuccess(): void {
    this.consecutiveFailures = 0;
    this.trialInFlight = false;
    if (this.state !== 'closed') this.transition('closed');
  }

  onFailure(): void {
    this.consecutiveFailures++;
    const wasTrial = this.state === 'half_open';
    this.trialInFlight = false;
    if (wasTrial || this.consecutiveFailures >= this.opts.failureThreshold) this.open();
  }

  /** Opens at once, whatever the count: for failures that mean the upstream is stuck. */
  trip(): void {
    this.consecutiveFailures = Math.max(this.consecutiveFailures, this.opts.failureThreshold);
    this.trialInFlight = false;
    this.open();
  }

  private open(): void {
    this.openedAt = this.now();
    if (this.state !== 'open') this.transition('open');
  }

  private transition(state: BreakerState): void {
    this.state = state;
    this.opts.onStateChange?.(state);
  }
}
