import { createHash } from 'node:crypto';

/**
 * JSON with sorted keys, so the same request hashes the same whatever the key order. Its output
 * must never change (stored hashes are compared with new ones); it runs on every POST, hence
 * loops instead of entries/filter/map chains.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      // JSON.stringify(undefined) is undefined: such an element is left empty, as Array#join does.
      out += (canonicalJson(value[i]) as string | undefined) ?? '';
    }
    return `${out}]`;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    // The default sort orders strings by UTF-16 code units, as the < comparison does.
    const keys = Object.keys(record).sort();
    let out = '{';
    for (const key of keys) {
      const v = record[key];
      if (v === undefined) continue;
      if (out.length > 1) out += ',';
      out += `${JSON.stringify(key)}:${canonicalJson(v)}`;
    }
    return `${out}}`;
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
