import { BreakerState, CircuitBreaker } from './circuit-breaker';

describe('CircuitBreaker', () => {
  let now = 0;
  let changes: BreakerState[];
  const make = () => {
    changes = [];
    return new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1_000, now: () => now, onStateChange: (s) => changes.push(s) });
  };
  beforeEach(() => {
    now = 0;
  });

  it('opens after N consecutive failures, not before', () => {
    const b = make();
    b.onFailure();
    b.onFailure();
    expect(b.current).toBe('closed');
    b.onFailure();
    expect(b.current).toBe('open');
    expect(b.canAttempt()).toBe(false);
    expect(changes).toEqual(['open']);
  });

  it('a success resets the consecutive count', () => {
    const b = make();
    b.onFailure();
    b.onFailure();
    b.onSuccess();
    b.onFailure();
    b.onFailure();
    expect(b.current).toBe('closed');
  });

  it('trip() opens at once', () => {
    const b = make();
    b.trip();
    expect(b.current).toBe('open');
  });

  it('goes half-open after the cool-down and lets exactly one trial through', () => {
    const b = make();
    b.trip();
    now = 999;
    expect(b.canAttempt()).toBe(false);
    now = 1_000;
    expect(b.current).toBe('half_open');
    expect(b.canAttempt()).toBe(true);
    b.onAttempt();
    expect(b.canAttempt()).toBe(false);
  });

  it('half-open: success closes, failure re-opens for another cool-down', () => {
    const b = make();
    b.trip();
    now = 1_000;
    b.onAttempt();
    b.onFailure();
    expect(b.current).toBe('open');
    now = 1_500;
    expect(b.current).toBe('open');
    now = 2_000;
    b.onAttempt();
    b.onSuccess();
    expect(b.current).toBe('closed');
    expect(changes).toEqual(['open', 'half_open', 'open', 'half_open', 'closed']);
  });

  it('an abandoned trial frees the half-open slot', () => {
    const b = make();
    b.trip();
    now = 1_000;
    b.onAttempt();
    b.onAbandoned();
    expect(b.canAttempt()).toBe(true);
  });

  it('rejects a non-positive threshold', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0, cooldownMs: 1 })).toThrow(/failureThreshold/u);
  });
});
