import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { OutboundHttpClient } from '@ragmesh/outbound';
import { WebhookSigner } from './signature';

export const CALLBACK_OPTIONS = Symbol('FEEDBACK_CALLBACK_OPTIONS');
export interface CallbackOptions {
  /** `whsec_…` Standard Webhooks secret. */
  signingSecret: string;
  timeoutMs: number;
  /** OUTBOUND_ALLOWLIST: hosts/CIDRs reachable although not public. */
  allowList: string;
}

/** Receivers answer with a short acknowledgement; anything bigger is not read. */
export const MAX_CALLBACK_RESPONSE_BYTES = 64 * 1024;

export interface CallbackBody {
  memberId: string;
  content: string;
  /** Lets the receiver match the delivery to the job it was given at POST /v1/feedback. */
  jobId?: string;
}

export interface DeliverOptions {
  /** The caller's per-request credential, sent as the Authorization header. */
  authHeader?: string;
}

/**
 * The HTTP status the callback target answered with. Refused targets (SSRF rules), timeouts and
 * network failures reject with an OutboundError whose `retryable` says whether to try again.
 */
export abstract class CallbackClient {
  abstract deliver(url: string, webhookId: string, body: CallbackBody, opts?: DeliverOptions): Promise<{ status: number }>;
}

@Injectable()
export class OutboundCallbackClient extends CallbackClient implements OnApplicationShutdown {
  private readonly http: OutboundHttpClient;
  private readonly signer: WebhookSigner;

  constructor(@Inject(CALLBACK_OPTIONS) opts: CallbackOptions) {
    super();
    this.http = new OutboundHttpClient({ allow: opts.allowList, timeoutMs: opts.timeoutMs, maxResponseBytes: MAX_CALLBACK_RESPONSE_BYTES });
    this.signer = new WebhookSigner(opts.signingSecret);
  }

  async deliver(url: string, webhookId: string, body: CallbackBody, opts: DeliverOptions = {}): Promise<{ status: number }> {
    // Sent as bytes so what is signed is exactly what goes on the wire.
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    const response = await this.http.post(url, payload, {
      'Content-Type': 'application/json',
      ...this.signer.headers(webhookId, payload),
      ...(opts.authHeader ? { Authorization: opts.authHeader } : {}),
    });
    return { status: response.status };
  }

  onApplicationShutdown(): void {
    this.http.close();
  }
}

/** 4xx means the target refuses this request; except these, which ask to come back later. */
export const RETRYABLE_CLIENT_STATUSES: ReadonlySet<number> = new Set([408, 425, 429]);

export type CallbackVerdict = 'delivered' | 'rejected' | 'retry';

export function classifyCallbackStatus(status: number): CallbackVerdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status >= 500 || RETRYABLE_CLIENT_STATUSES.has(status)) return 'retry';
  // 3xx (a redirect not followed: it would drop the body) and other 4xx: the same request will be refused again.
  return 'rejected';
}
