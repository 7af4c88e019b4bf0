import { Inject, Injectable } from '@nestjs/common';
import axios from 'axios';
import { SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER, DELIVERY_ID_HEADER } from './signature';

export const CALLBACK_OPTIONS = Symbol('FEEDBACK_CALLBACK_OPTIONS');
export interface CallbackOptions {
  signingSecret: string;
  timeoutMs: number;
}

/** Receivers answer with a short acknowledgement; anything bigger is not read. */
const MAX_RESPONSE_BYTES = 64 * 1024;

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

/** The HTTP status the callback target answered with; network failures and timeouts reject. */
export abstract class CallbackClient {
  abstract deliver(url: string, deliveryId: string, body: CallbackBody, opts?: DeliverOptions): Promise<{ status: number }>;
}

@Injectable()
export class AxiosCallbackClient extends CallbackClient {
  constructor(@Inject(CALLBACK_OPTIONS) private readonly opts: CallbackOptions) {
    super();
  }

  async deliver(url: string, deliveryId: string, body: CallbackBody, opts: DeliverOptions = {}): Promise<{ status: number }> {
    // Sent as bytes so what is signed is exactly what goes on the wire.
    const payload = Buffer.from(JSON.stringify(body), 'utf8');
    const response = await axios.post(url, payload, {
      timeout: this.opts.timeoutMs,
      // A redirected POST is a misconfigured callback URL, not something to follow silently.
      maxRedirects: 0,
      maxContentLength: MAX_RESPONSE_BYTES,
      validateStatus: () => true,
      headers: {
        'Content-Type': 'application/json',
        [SIGNATURE_HEADER]: signBody(this.opts.signingSecret, payload),
        // Unix seconds, as most webhook receivers expect.
        [TIMESTAMP_HEADER]: String(Math.floor(Date.now() / 1000)),
        [DELIVERY_ID_HEADER]: deliveryId,
        ...(opts.authHeader ? { Authorization: opts.authHeader } : {}),
      },
    });
    return { status: response.status };
  }
}

/** 4xx means the target refuses this request; except these, which ask to come back later. */
export const RETRYABLE_CLIENT_STATUSES: ReadonlySet<number> = new Set([408, 425, 429]);

export type CallbackVerdict = 'delivered' | 'rejected' | 'retry';

export function classifyCallbackStatus(status: number): CallbackVerdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status >= 500 || RETRYABLE_CLIENT_STATUSES.has(status)) return 'retry';
  // 3xx (redirects are not followed) and other 4xx: the same request will be refused again.
  return 'rejected';
}
