export type OutboundErrorCode =
  /** The URL is not absolute http(s), carries credentials, or a redirect's Location is unusable. */
  | 'BAD_URL'
  /** The host is or resolves to an address outside the public internet and is not allow-listed. */
  | 'BLOCKED_ADDRESS'
  | 'TOO_MANY_REDIRECTS'
  | 'RESPONSE_TOO_LARGE'
  | 'TIMEOUT'
  /** DNS failure, refused or reset connection, TLS error. */
  | 'NETWORK';

/** Retrying the same request later cannot change these outcomes. */
const PERMANENT_CODES: ReadonlySet<OutboundErrorCode> = new Set(['BAD_URL', 'BLOCKED_ADDRESS', 'TOO_MANY_REDIRECTS', 'RESPONSE_TOO_LARGE']);

/** Every failure of an outbound request; `retryable` says whether trying again later may help. */
export class OutboundError extends Error {
  override readonly name = 'OutboundError';
  readonly retryable: boolean;

  constructor(
    readonly code: OutboundErrorCode,
    message: string,
    /** The URL being requested when it failed (after redirects, the redirect target). */
    readonly url?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.retryable = !PERMANENT_CODES.has(code);
  }
}
