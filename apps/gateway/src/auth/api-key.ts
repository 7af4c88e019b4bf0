import { createHash, randomBytes } from 'node:crypto';

export const SCOPES = ['chat', 'documents', 'feedback', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** `rgm_<label>_<secret>`: the label says where a key came from (live, dev, e2e); the secret is 128+ random bits. */
export const API_KEY_PATTERN = /^rgm_[a-z0-9]{1,16}_[A-Za-z0-9]{32,64}$/;
/** Characters of the secret kept in the prefix: enough to tell keys apart in logs, far too few to guess the rest. */
const PREFIX_SECRET_CHARS = 6;

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

export function generateApiKey(label = 'live'): string {
  return `rgm_${label}_${randomBytes(16).toString('hex')}`;
}

/** The part of a key that may be shown and logged: `rgm_live_3fa9c1`. */
export function keyPrefix(key: string): string {
  const secretStart = key.lastIndexOf('_') + 1;
  return key.slice(0, secretStart + PREFIX_SECRET_CHARS);
}

/**
 * SHA-256, not a slow password hash: a key carries 128 random bits, so there is nothing to
 * brute-force, and a fast hash lets every request find its key with one indexed lookup.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
