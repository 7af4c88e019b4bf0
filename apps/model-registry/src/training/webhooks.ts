import { Injectable, Logger } from '@nestjs/common';
import { OutboundError, OutboundHttpClient } from '@ragmesh/outbound';
import { createHmac } from 'node:crypto';
import type { WebhookFormat } from './settings';

export const SIGNATURE_HEADER = 'x-ragmesh-signature';
export const TIMESTAMP_HEADER = 'x-ragmesh-timestamp';
export const EVENT_HEADER = 'x-ragmesh-event';

export type WebhookEvent = 'training.run.succeeded' | 'training.run.failed';

export interface WebhookNotice {
  event: WebhookEvent;
  runId: string;
  title: string;
  fields: Record<string, string>;
  success: boolean;
}

export interface WebhookTarget {
  url: string;
  format: WebhookFormat;
}

const GREEN = 0x2eb67d;
const RED = 0xe01e5a;

/**
 * Slack incoming webhooks read `text` (+ `attachments`), Discord reads `content` (+ `embeds`);
 * both ignore the `ragmesh` object, which carries the machine-readable event.
 */
export function webhookBody(notice: WebhookNotice, format: WebhookFormat): Record<string, unknown> {
  const summary = `${notice.title} (run ${notice.runId})`;
  const ragmesh = { event: notice.event, run_id: notice.runId, ...notice.fields };
  const pairs = Object.entries(notice.fields);
  if (format === 'slack') {
    return {
      text: summary,
      attachments: [{ color: notice.success ? '#2eb67d' : '#e01e5a', fields: pairs.map(([title, value]) => ({ title, value, short: true })) }],
      ragmesh,
    };
  }
  return {
    content: summary,
    embeds: [{ title: notice.title, color: notice.success ? GREEN : RED, fields: pairs.map(([name, value]) => ({ name, value, inline: true })) }],
    ragmesh,
  };
}

/** `v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`: the timestamp stops replays, the body is covered byte for byte. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface WebhookOptions {
  secret: string;
  retryDelaysMs: number[];
  timeoutMs: number;
}

export interface DeliveryOutcome {
  url: string;
  delivered: boolean;
  attempts: number;
  lastError: string | null;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Posts signed notices through the guarded outbound client; a failure (network, 5xx, 429) is retried with the configured waits. */
@Injectable()
export class WebhookSender {
  private readonly logger = new Logger(WebhookSender.name);

  constructor(
    private readonly http: OutboundHttpClient,
    private readonly opts: WebhookOptions,
  ) {}

  get enabled(): boolean {
    return this.opts.secret !== '';
  }

  async deliver(target: WebhookTarget, notice: WebhookNotice): Promise<DeliveryOutcome> {
    const body = JSON.stringify(webhookBody(notice, target.format));
    let lastError: string | null = null;
    const attempts = this.opts.retryDelaysMs.length + 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const headers = {
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: signWebhook(this.opts.secret, timestamp, body),
        [TIMESTAMP_HEADER]: timestamp,
        [EVENT_HEADER]: notice.event,
      };
      try {
        const res = await this.http.post(target.url, body, headers, { timeoutMs: this.opts.timeoutMs });
        if (res.status >= 200 && res.status < 300) return { url: target.url, delivered: true, attempts: attempt, lastError: null };
        lastError = `HTTP ${res.status}`;
        // A 4xx other than 408/429 will not change on retry (wrong URL, revoked hook).
        if (res.status < 500 && res.status !== 408 && res.status !== 429) return { url: target.url, delivered: false, attempts: attempt, lastError };
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
        if (err instanceof OutboundError && !err.retryable) return { url: target.url, delivered: false, attempts: attempt, lastError };
      }
      this.logger.warn(`webhook ${target.url} attempt ${attempt} failed: ${lastError}`);
      if (attempt < attempts) await sleep(this.opts.retryDelaysMs[attempt - 1]);
    }
    return { url: target.url, delivered: false, attempts, lastError };
  }
}
