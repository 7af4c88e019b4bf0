import { createHash } from 'node:crypto';

/** JSON with sorted keys, so the same request hashes the same whatever the key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Hash of the validated (normalized) request: `2024-05-01` and `[2024,5,1]` are the same request. */
export function requestHash(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

export type IdempotencyDecision = { kind: 'new' } | { kind: 'replay'; jobId: string } | { kind: 'conflict' };

/** What an earlier request with the same Idempotency-Key means for this one. */
export function decideIdempotency(existing: { jobId: string; requestHash: string } | null, hash: string): IdempotencyDecision {
  if (!existing) return { kind: 'new' };
  return existing.requestHash === hash ? { kind: 'replay', jobId: existing.jobId } : { kind: 'conflict' };
}
