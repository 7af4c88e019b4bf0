import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { OutboundError, OutboundHttpClient } from '@ragmesh/outbound';
import { APP_CONFIG, type AppConfig } from '../config';

/** One callback POST may take this long, redirects and the receiver's answer included. */
export const CALLBACK_POST_TIMEOUT_MS = 10_000;

export type CallbackResult = { ok: true; status: number } | { ok: false; retryable: boolean; reason: string };

/**
 * The only way chat reaches a caller's `response_url`: through @ragmesh/outbound's guarded client
 * (no private, loopback or link-local targets unless OUTBOUND_ALLOWLIST says so; DNS checked at connect).
 */
export abstract class CallbackSender {
  /** Throws a CallbackUrlRejected when the URL may never be called (bad scheme, blocked address, unresolvable). */
  abstract check(url: string): Promise<void>;
  abstract post(url: string, body: string, headers: Record<string, string>): Promise<CallbackResult>;
}

export class CallbackUrlRejected extends Error {}

/** Statuses worth another try: the receiver is overloaded or restarting. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);

@Injectable()
export class OutboundCallbackSender extends CallbackSender implements OnApplicationShutdown {
  private readonly client: OutboundHttpClient;

  constructor(@Inject(APP_CONFIG) config: Pick<AppConfig, 'OUTBOUND_ALLOWLIST'>) {
    super();
    this.client = new OutboundHttpClient({ allow: config.OUTBOUND_ALLOWLIST, timeoutMs: CALLBACK_POST_TIMEOUT_MS, maxResponseBytes: 64 * 1024 });
  }

  async check(url: string): Promise<void> {
    try {
      await this.client.assertAllowed(url);
    } catch (err) {
      throw new CallbackUrlRejected(err instanceof Error ? err.message : String(err));
    }
  }

  async post(url: string, body: string, headers: Record<string, string>): Promise<CallbackResult> {
    try {
      const res = await this.client.post(url, body, { 'content-type': 'application/json', ...headers });
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
      return { ok: false, retryable: RETRYABLE_STATUSES.has(res.status), reason: `response_url answered HTTP ${res.status}` };
    } catch (err) {
      if (err instanceof OutboundError) return { ok: false, retryable: err.retryable, reason: `${err.code}: ${err.message}` };
      return { ok: false, retryable: true, reason: err instanceof Error ? err.message : String(err) };
    }
  }

  onApplicationShutdown(): void {
    this.client.close();
  }
}
