import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

export const CORRELATION_HEADER = 'x-correlation-id';

// Ids come from callers (headers, metadata, messages): keep them short and printable so
// they cannot bloat or break log lines; anything else is replaced by a fresh id.
const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

interface CorrelationStore {
  correlationId: string;
}

const storage = new AsyncLocalStorage<CorrelationStore>();

export function newCorrelationId(): string {
  return randomUUID();
}

/** The id if it is usable as a correlation id, otherwise undefined. */
export function acceptCorrelationId(candidate: unknown): string | undefined {
  const value = Array.isArray(candidate) ? (candidate as unknown[])[0] : candidate;
  if (Buffer.isBuffer(value)) return acceptCorrelationId(value.toString('utf8'));
  return typeof value === 'string' && ACCEPTABLE_ID.test(value) ? value : undefined;
}

export function getCorrelationId(): string | undefined {
  return storage.getStore()?.correlationId;
}

/** Runs fn (and everything async it starts) with the id; a missing or unusable id becomes a new uuid. */
export function runWithCorrelationId<T>(id: string | undefined, fn: () => T): T {
  return storage.run({ correlationId: acceptCorrelationId(id) ?? newCorrelationId() }, fn);
}
