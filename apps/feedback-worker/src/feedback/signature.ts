import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/** Standard Webhooks (https://www.standardwebhooks.com) header names. */
export const WEBHOOK_ID_HEADER = 'webhook-id';
export const WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** The spec asks for 24–64 random bytes. */
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;

/** Why a `whsec_<base64>` secret is unusable, or undefined when it is fine. */
export function secretProblem(secret: string): string | undefined {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) return `must start with ${WEBHOOK_SECRET_PREFIX}`;
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return `must be ${WEBHOOK_SECRET_PREFIX} followed by base64`;
  const bytes = Buffer.from(encoded, 'base64').length;
  if (bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) return `must encode ${MIN_SECRET_BYTES}–${MAX_SECRET_BYTES} bytes (got ${bytes})`;
  return undefined;
}

/**
 * Signs callbacks the Standard Webhooks way: `webhook-signature: v1,<base64 HMAC-SHA256 of
 * "<webhook-id>.<webhook-timestamp>.<body>">` with the decoded `whsec_` secret. node:crypto's
 * HMAC rather than the `standardwebhooks` package's signer, which hashes in pure JavaScript and
 * copies the body to a string and back; the tests check every signature with that package's verify.
 */
export class WebhookSigner {
  private readonly key: KeyObject;

  constructor(secret: string) {
    const problem = secretProblem(secret);
    if (problem) throw new Error(`webhook signing secret ${problem}`);
    this.key = createSecretKey(Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64'));
  }

  /** `id` is the same on every retry of one job, so receivers can drop repeats; the timestamp is this attempt's. */
  headers(id: string, body: Buffer, now: Date = new Date()): Record<string, string> {
    const timestamp = String(Math.floor(now.getTime() / 1000));
    const signature = createHmac('sha256', this.key).update(`${id}.${timestamp}.`, 'utf8').update(body).digest('base64');
    return {
      [WEBHOOK_ID_HEADER]: id,
      [WEBHOOK_TIMESTAMP_HEADER]: timestamp,
      [WEBHOOK_SIGNATURE_HEADER]: `v1,${signature}`,
    };
  }
}
