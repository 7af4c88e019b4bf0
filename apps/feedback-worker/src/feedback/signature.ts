import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Ragmesh-Signature';
export const TIMESTAMP_HEADER = 'X-Ragmesh-Timestamp';
/** The job id: lets a receiver drop a repeat if our success was not recorded after its 2xx. */
export const DELIVERY_ID_HEADER = 'X-Ragmesh-Delivery-Id';
const SIGNATURE_PREFIX = 'sha256=';

/** "sha256=<hex HMAC-SHA256 of the exact body bytes>", what receivers recompute with the shared secret. */
export function signBody(secret: string, body: string | Buffer): string {
  return SIGNATURE_PREFIX + createHmac('sha256', secret).update(body).digest('hex');
}

export function verifySignature(secret: string, body: string | Buffer, signature: string | undefined): boolean {
  if (!signature) return false;
  const expected = Buffer.from(signBody(secret, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
