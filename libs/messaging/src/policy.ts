import { z } from 'zod';
import { PermanentError, errorMessage } from './errors';

export interface RetryPolicy {
  /** Attempt n (1-based) that fails waits delaysMs[n-1] before attempt n+1; after the last delay → dead letter. */
  delaysMs: number[];
}

export const DEFAULT_RETRY: RetryPolicy = { delaysMs: [1000, 5000, 30000] };
export const DEFAULT_PREFETCH = 50;

export const ATTEMPT_HEADER = 'x-attempt';
export const DEATH_REASON_HEADER = 'x-death-reason';
export const FAILED_AT_HEADER = 'x-failed-at';
export const LAST_ERROR_HEADER = 'x-last-error';
export const ORIGINAL_ROUTING_KEY_HEADER = 'x-original-routing-key';
export const REPLAYED_AT_HEADER = 'x-replayed-at';

// Reasons end up in AMQP headers (and dashboards); a stack-sized string has no place there.
const MAX_REASON_LENGTH = 1000;

/** Per-send token used to match a returned (unroutable) message to its send. */
export const SEND_TOKEN_HEADER = 'x-send-token';

// Headers the broker adds when it dead-letters out of a delay queue hold nested tables with
// timestamps that are noise once the message has moved on; a send token belongs to one send only.
const TRANSIENT_HEADERS = [
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  SEND_TOKEN_HEADER,
];

export type Headers = Record<string, unknown>;

export const retryQueueName = (queue: string, n: number): string => `${queue}.retry.${n}`;
export const deadLetterQueueName = (queue: string): string => `${queue}.dlq`;

export function validateRetryPolicy(policy: RetryPolicy): void {
  for (const [i, delay] of policy.delaysMs.entries()) {
    if (!Number.isInteger(delay) || delay <= 0) {
      throw new Error(`retry policy: delaysMs[${i}] must be a positive integer (got ${String(delay)})`);
    }
  }
}

/** "1000,5000,30000" (milliseconds, one delay per retry) → a retry policy; "" → no retries. */
export function parseRetryDelays(raw: string): { ok: true; policy: RetryPolicy } | { ok: false; reason: string } {
  const parts = raw.split(',').map((part) => part.trim()).filter((part) => part !== '');
  const delaysMs = parts.map(Number);
  const bad = parts.find((part, i) => !/^\d+$/.test(part) || delaysMs[i] <= 0 || !Number.isSafeInteger(delaysMs[i]));
  if (bad !== undefined) return { ok: false, reason: `must be comma-separated positive integers of milliseconds, e.g. 1000,5000,30000 (got "${bad}")` };
  return { ok: true, policy: { delaysMs } };
}

/**
 * Env schema of a retry policy written as comma-separated milliseconds (a *_RETRY_DELAYS_MS
 * variable); unset → `def`. Every replica of a consumer must use the same delays: they are
 * declared on its retry queues.
 */
export function retryDelaysEnv(def: RetryPolicy): z.ZodType<RetryPolicy> {
  const schema = z.unknown().transform((input, ctx): RetryPolicy => {
    if (input === undefined || input === null || String(input).trim() === '') return def;
    const parsed = parseRetryDelays(String(input));
    if (parsed.ok) return parsed.policy;
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed.reason });
    return z.NEVER;
  });
  // Raw env strings in, a policy out: typed as the policy, like @ragmesh/config's schemas.
  return schema as unknown as z.ZodType<RetryPolicy>;
}

/** The attempt a delivery is on: 1 for a first delivery, the x-attempt header after retries. */
export function attemptFromHeaders(headers: Headers | undefined): number {
  const raw = headers?.[ATTEMPT_HEADER];
  const value = typeof raw === 'string' ? Number(raw) : raw;
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : 1;
}

export type FailureDecision =
  | { action: 'retry'; queue: string; delayMs: number; nextAttempt: number; error: string }
  | { action: 'dead-letter'; queue: string; reason: string };

/** Where a message goes when attempt `attempt` of its handler fails with `error`. */
export function decideOnFailure(queue: string, attempt: number, policy: RetryPolicy, error: unknown): FailureDecision {
  const message = errorMessage(error);
  if (error instanceof PermanentError) {
    return { action: 'dead-letter', queue: deadLetterQueueName(queue), reason: truncate(`permanent error: ${message}`) };
  }
  if (attempt <= policy.delaysMs.length) {
    return {
      action: 'retry',
      queue: retryQueueName(queue, attempt),
      delayMs: policy.delaysMs[attempt - 1],
      nextAttempt: attempt + 1,
      error: truncate(message),
    };
  }
  return {
    action: 'dead-letter',
    queue: deadLetterQueueName(queue),
    reason: truncate(`handler failed after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${message}`),
  };
}

function withoutTransientHeaders(headers: Headers | undefined): Headers {
  const copy: Headers = { ...(headers ?? {}) };
  for (const name of TRANSIENT_HEADERS) delete copy[name];
  return copy;
}

export function retryHeaders(original: Headers | undefined, nextAttempt: number, error: string, routingKey: string): Headers {
  const headers = withoutTransientHeaders(original);
  headers[ATTEMPT_HEADER] = nextAttempt;
  headers[LAST_ERROR_HEADER] = truncate(error);
  headers[ORIGINAL_ROUTING_KEY_HEADER] ??= routingKey;
  return headers;
}

export function deadLetterHeaders(original: Headers | undefined, reason: string, routingKey: string, now: Date = new Date()): Headers {
  const headers = withoutTransientHeaders(original);
  headers[DEATH_REASON_HEADER] = truncate(reason);
  headers[FAILED_AT_HEADER] = now.toISOString();
  headers[ORIGINAL_ROUTING_KEY_HEADER] ??= routingKey;
  return headers;
}

/** A replayed message starts over: a fresh attempt count, no death marks. */
export function replayHeaders(original: Headers | undefined, now: Date = new Date()): Headers {
  const headers = withoutTransientHeaders(original);
  for (const name of [ATTEMPT_HEADER, DEATH_REASON_HEADER, FAILED_AT_HEADER, LAST_ERROR_HEADER]) delete headers[name];
  headers[REPLAYED_AT_HEADER] = now.toISOString();
  return headers;
}

function truncate(text: string): string {
  return text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH - 1)}…` : text;
}
