import { PermanentError } from './errors';
import {
  ATTEMPT_HEADER,
  DEATH_REASON_HEADER,
  FAILED_AT_HEADER,
  LAST_ERROR_HEADER,
  ORIGINAL_ROUTING_KEY_HEADER,
  REPLAYED_AT_HEADER,
  SEND_TOKEN_HEADER,
  attemptFromHeaders,
  deadLetterHeaders,
  decideOnFailure,
  parseRetryDelays,
  replayHeaders,
  retryDelaysEnv,
  retryHeaders,
  validateRetryPolicy,
} from './policy';

const policy = { delaysMs: [100, 200, 400] };

describe('decideOnFailure', () => {
  it('sends attempt n to retry queue n with delay n', () => {
    expect(decideOnFailure('q', 1, policy, new Error('boom'))).toEqual({ action: 'retry', queue: 'q.retry.1', delayMs: 100, nextAttempt: 2, error: 'boom' });
    expect(decideOnFailure('q', 3, policy, new Error('boom'))).toMatchObject({ action: 'retry', queue: 'q.retry.3', delayMs: 400, nextAttempt: 4 });
  });

  it('dead-letters after the last delay, naming the attempts and the error', () => {
    expect(decideOnFailure('q', 4, policy, new Error('db down'))).toEqual({
      action: 'dead-letter',
      queue: 'q.dlq',
      reason: 'handler failed after 4 attempts: db down',
    });
  });

  it('dead-letters a PermanentError at once', () => {
    expect(decideOnFailure('q', 1, policy, new PermanentError('no such member'))).toEqual({
      action: 'dead-letter',
      queue: 'q.dlq',
      reason: 'permanent error: no such member',
    });
  });

  it('dead-letters at the first failure when the policy has no delays', () => {
    expect(decideOnFailure('q', 1, { delaysMs: [] }, 'thrown string')).toEqual({
      action: 'dead-letter',
      queue: 'q.dlq',
      reason: 'handler failed after 1 attempt: thrown string',
    });
  });

  it('truncates huge error messages', () => {
    const decision = decideOnFailure('q', 9, policy, new Error('x'.repeat(5000)));
    expect(decision.action === 'dead-letter' && decision.reason.length).toBe(1000);
  });
});

describe('attemptFromHeaders', () => {
  it.each([
    [undefined, 1],
    [{}, 1],
    [{ [ATTEMPT_HEADER]: 3 }, 3],
    [{ [ATTEMPT_HEADER]: '2' }, 2],
    [{ [ATTEMPT_HEADER]: 0 }, 1],
    [{ [ATTEMPT_HEADER]: 'nope' }, 1],
    [{ [ATTEMPT_HEADER]: 1.5 }, 1],
  ])('%j → %d', (headers, expected) => {
    expect(attemptFromHeaders(headers)).toBe(expected);
  });
});

describe('header handling', () => {
  const brokerDeath = { 'x-death': [{ count: 1, queue: 'q.retry.1' }], 'x-first-death-queue': 'q.retry.1', [SEND_TOKEN_HEADER]: 't' };

  it('retry headers carry the next attempt and the error, keep the caller headers, drop broker death marks', () => {
    const headers = retryHeaders({ 'x-correlation-id': 'c1', ...brokerDeath }, 2, 'boom', 'document.ingested');
    expect(headers).toEqual({
      'x-correlation-id': 'c1',
      [ATTEMPT_HEADER]: 2,
      [LAST_ERROR_HEADER]: 'boom',
      [ORIGINAL_ROUTING_KEY_HEADER]: 'document.ingested',
    });
  });

  it('keeps the first routing key across retries (later hops come from the default exchange)', () => {
    const headers = retryHeaders({ [ORIGINAL_ROUTING_KEY_HEADER]: 'document.ingested' }, 3, 'boom', 'q');
    expect(headers[ORIGINAL_ROUTING_KEY_HEADER]).toBe('document.ingested');
  });

  it('dead-letter headers carry the reason and the time of failure', () => {
    const now = new Date('2025-01-02T03:04:05.000Z');
    const headers = deadLetterHeaders({ [ATTEMPT_HEADER]: 3, ...brokerDeath }, 'malformed JSON', 'q', now);
    expect(headers).toEqual({
      [ATTEMPT_HEADER]: 3,
      [DEATH_REASON_HEADER]: 'malformed JSON',
      [FAILED_AT_HEADER]: '2025-01-02T03:04:05.000Z',
      [ORIGINAL_ROUTING_KEY_HEADER]: 'q',
    });
  });

  it('replay headers start the attempt count over and drop death marks', () => {
    const now = new Date('2025-01-02T03:04:05.000Z');
    const headers = replayHeaders(
      { 'x-correlation-id': 'c1', [ATTEMPT_HEADER]: 4, [DEATH_REASON_HEADER]: 'r', [FAILED_AT_HEADER]: 'f', [LAST_ERROR_HEADER]: 'e', ...brokerDeath },
      now,
    );
    expect(headers).toEqual({ 'x-correlation-id': 'c1', [REPLAYED_AT_HEADER]: '2025-01-02T03:04:05.000Z' });
    expect(attemptFromHeaders(headers)).toBe(1);
  });
});

describe('validateRetryPolicy', () => {
  it('rejects non-positive or fractional delays, naming the index', () => {
    expect(() => validateRetryPolicy({ delaysMs: [100, 0] })).toThrow('delaysMs[1] must be a positive integer');
    expect(() => validateRetryPolicy({ delaysMs: [1.5] })).toThrow('delaysMs[0]');
    expect(() => validateRetryPolicy({ delaysMs: [1000, 5000] })).not.toThrow();
  });
});

describe('retry delays from env', () => {
  it('reads comma-separated milliseconds', () => {
    expect(parseRetryDelays('300, 600,1200')).toEqual({ ok: true, policy: { delaysMs: [300, 600, 1200] } });
  });

  it('refuses zero, negatives, fractions and words, naming the bad entry', () => {
    for (const [raw, bad] of [['100,0', '0'], ['-5', '-5'], ['1.5', '1.5'], ['1s,2s', '1s']]) {
      const parsed = parseRetryDelays(raw);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.reason).toContain(`got "${bad}"`);
    }
  });

  it('falls back to the default when unset or empty, and fails the parse otherwise', () => {
    const schema = retryDelaysEnv(policy);
    expect(schema.parse(undefined)).toBe(policy);
    expect(schema.parse('  ')).toBe(policy);
    expect(schema.parse('50,100')).toEqual({ delaysMs: [50, 100] });
    expect(schema.safeParse('fast').success).toBe(false);
  });
});
