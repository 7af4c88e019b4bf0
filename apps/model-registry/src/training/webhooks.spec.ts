import { OutboundError, type OutboundHttpClient, type OutboundResponse } from '@ragmesh/outbound';
import { createHmac } from 'node:crypto';
import { metricsFromLogs } from './ray-jobs.client';
import { shellQuote } from './training.service';
import { signWebhook, webhookBody, WebhookNotice, WebhookSender } from './webhooks';

const notice: WebhookNotice = { event: 'training.run.succeeded', runId: 'r1', title: 'Training run succeeded', fields: { adapter: 'a-v1' }, success: true };

/** Answers each post with the next scripted outcome. */
function scripted(outcomes: (number | Error)[]) {
  const calls: { url: string; body: string; headers: Record<string, string> }[] = [];
  const http = {
    post: (url: string, body: string, headers: Record<string, string>) => {
      calls.push({ url, body, headers });
      const next = outcomes.shift() ?? 200;
      if (next instanceof Error) return Promise.reject(next);
      return Promise.resolve({ status: next, headers: {}, body: Buffer.alloc(0), url, redirects: [] } as OutboundResponse);
    },
  } as unknown as OutboundHttpClient;
  return { http, calls };
}

describe('webhooks', () => {
  it('shapes Slack (text + attachments) and Discord (content + embeds) bodies, both carrying the event', () => {
    expect(webhookBody(notice, 'slack')).toMatchObject({ text: 'Training run succeeded (run r1)', attachments: [{ fields: [{ title: 'adapter', value: 'a-v1', short: true }] }], ragmesh: { event: 'training.run.succeeded', run_id: 'r1', adapter: 'a-v1' } });
    expect(webhookBody(notice, 'discord')).toMatchObject({ content: 'Training run succeeded (run r1)', embeds: [{ title: 'Training run succeeded', fields: [{ name: 'adapter', value: 'a-v1', inline: true }] }] });
  });

  it('signs timestamp and body with HMAC-SHA256', () => {
    expect(signWebhook('k', '100', '{}')).toBe(`v1=${createHmac('sha256', 'k').update('100.{}').digest('hex')}`);
  });

  it('retries 5xx and network failures, then delivers with a valid signature', async () => {
    const { http, calls } = scripted([503, new OutboundError('NETWORK', 'socket hang up'), 200]);
    const sender = new WebhookSender(http, { secret: 's', retryDelaysMs: [1, 1, 1], timeoutMs: 1000 });
    expect(await sender.deliver({ url: 'https://hooks.example/x', format: 'slack' }, notice)).toEqual({ url: 'https://hooks.example/x', delivered: true, attempts: 3, lastError: null });
    const last = calls[2];
    expect(last.headers['x-ragmesh-signature']).toBe(signWebhook('s', last.headers['x-ragmesh-timestamp'], last.body));
    expect(last.headers['x-ragmesh-event']).toBe('training.run.succeeded');
  });

  it('gives up at once on a 4xx or a blocked address, and after the last retry otherwise', async () => {
    const gone = new WebhookSender(scripted([404]).http, { secret: 's', retryDelaysMs: [1, 1], timeoutMs: 1000 });
    expect(await gone.deliver({ url: 'https://h/x', format: 'discord' }, notice)).toMatchObject({ delivered: false, attempts: 1, lastError: 'HTTP 404' });
    const blocked = new WebhookSender(scripted([new OutboundError('BLOCKED_ADDRESS', 'private address')]).http, { secret: 's', retryDelaysMs: [1], timeoutMs: 1000 });
    expect(await blocked.deliver({ url: 'https://h/x', format: 'discord' }, notice)).toMatchObject({ delivered: false, attempts: 1 });
    const down = new WebhookSender(scripted([500, 502, 503]).http, { secret: 's', retryDelaysMs: [1, 1], timeoutMs: 1000 });
    expect(await down.deliver({ url: 'https://h/x', format: 'slack' }, notice)).toMatchObject({ delivered: false, attempts: 3, lastError: 'HTTP 503' });
  });
});

describe('training job helpers', () => {
  it('reads the last metrics line of a job log', () => {
    expect(metricsFromLogs('x\nRAGMESH_TRAINING_METRICS {"train_loss":1}\nRAGMESH_TRAINING_METRICS {"train_loss":0.5}\ndone')).toEqual({ train_loss: 0.5 });
    expect(metricsFromLogs('RAGMESH_TRAINING_METRICS not-json')).toBeNull();
    expect(metricsFromLogs('nothing')).toBeNull();
  });

  it('quotes entrypoint values for the shell', () => {
    expect(shellQuote("it's; rm -rf /")).toBe(`'it'\\''s; rm -rf /'`);
  });
});
