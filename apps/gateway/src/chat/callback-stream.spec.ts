import { Logger } from '@nestjs/common';
import { MetricsService } from '@ragmesh/observability';
import { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import { CallbackSender, type CallbackResult } from './callback-sender';
import { CALLBACK_RETRY_DELAYS_MS, CallbackDelivery, type CallbackPiece } from './callback-stream';
import { ChatMetrics } from './chat.metrics';
import type { ChatEvent, ChatSession } from './chat.use-case';

const FLUSH_MS = 30;
const USAGE = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 };
const REF = { chunk_id: 'd#0', document_id: 'd', title: 'T', score: 0.5, text: 'chunk text' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class FakeSender extends CallbackSender {
  pieces: CallbackPiece[] = [];
  headers: Record<string, string>[] = [];
  results: CallbackResult[] = [];
  async check(): Promise<void> {}
  async post(_url: string, body: string, headers: Record<string, string>): Promise<CallbackResult> {
    const next = this.results.shift() ?? { ok: true, status: 200 };
    if (next.ok) {
      this.pieces.push(JSON.parse(body) as CallbackPiece);
      this.headers.push(headers);
    }
    return next;
  }
}

function setup() {
  const sender = new FakeSender();
  const metrics = new ChatMetrics(new MetricsService(undefined, new Registry()));
  const delivery = new CallbackDelivery(sender, { url: 'https://hooks.example.com/answer', requestId: 'req-1', sessionId: 'conv-1' }, FLUSH_MS, metrics);
  const events = new Subject<ChatEvent>();
  const session: ChatSession = { conversationId: 'conv-1', references: [REF], timings: { startedAt: 0, retrievalMs: 0 }, events };
  return { sender, delivery, events, session };
}

describe('CallbackDelivery', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('buffers tokens into continue pieces about every flush interval, then sends the end piece with usage', async () => {
    const { sender, delivery, events, session } = setup();
    const run = delivery.run(async () => session);
    await sleep(0);
    events.next({ type: 'delta', text: 'Hel' });
    events.next({ type: 'delta', text: 'lo' });
    await sleep(FLUSH_MS * 2.5);
    events.next({ type: 'delta', text: ' world' });
    events.next({ type: 'done', finishReason: 'stop', usage: USAGE, model: 'm', turnIndex: 2 });
    events.complete();
    await run;

    expect(sender.pieces.map((p) => [p.sequence, p.status, p.content])).toEqual([
      [0, 'continue', 'Hello'],
      [1, 'end', ' world'],
    ]);
    expect(sender.pieces[0]).toMatchObject({ request_id: 'req-1', session_id: 'conv-1', references: [{ chunk_id: 'd#0', document_id: 'd', title: 'T', score: 0.5 }] });
    expect(sender.pieces[1].references).toBeUndefined();
    expect(sender.pieces[1]).toMatchObject({ finish_reason: 'stop', usage: USAGE, turn_index: 2 });
    expect(sender.headers[1]['idempotency-key']).toBe('req-1:1');
  });

  it('sends a single end piece (with the references) when the answer is done within the first interval', async () => {
    const { sender, delivery, events, session } = setup();
    const run = delivery.run(async () => session);
    await sleep(0);
    events.next({ type: 'delta', text: 'short' });
    events.next({ type: 'done', finishReason: 'stop', usage: USAGE, model: 'm', turnIndex: 0 });
    events.complete();
    await run;
    expect(sender.pieces).toHaveLength(1);
    expect(sender.pieces[0]).toMatchObject({ sequence: 0, status: 'end', content: 'short', references: [expect.objectContaining({ chunk_id: 'd#0' })] });
  });

  it('reports a failure before generation as an end piece with the error', async () => {
    const { sender, delivery } = setup();
    const failure = Object.assign(new Error('busy'), { code: 8, details: 'queue full', metadata: {} });
    await delivery.run(() => Promise.reject(failure));
    expect(sender.pieces).toEqual([
      expect.objectContaining({ sequence: 0, status: 'end', content: '', error: { code: 'rate_limited', message: 'queue full', status: 429 } }),
    ]);
  });

  it('ends with the error and the text received so far when generation fails mid-way', async () => {
    const { sender, delivery, events, session } = setup();
    const run = delivery.run(async () => session);
    await sleep(0);
    events.next({ type: 'delta', text: 'partial' });
    events.error(Object.assign(new Error('x'), { code: 10, details: 'upstream died at 10.0.3.7:50051', metadata: {} }));
    await run;
    // The receiver is outside: internal addresses are redacted, as in error bodies.
    expect(sender.pieces).toEqual([expect.objectContaining({ status: 'end', content: 'partial', error: expect.objectContaining({ message: 'upstream died at <address>' }) })]);
  });

  it('retries a piece the receiver could not take, without repeating or losing text', async () => {
    const { sender, delivery, events, session } = setup();
    sender.results = [{ ok: false, retryable: true, reason: 'HTTP 503' }];
    const run = delivery.run(async () => session);
    await sleep(0);
    events.next({ type: 'delta', text: 'one ' });
    await sleep(FLUSH_MS * 1.5);
    events.next({ type: 'delta', text: 'two' });
    events.next({ type: 'done', finishReason: 'stop', usage: USAGE, model: 'm', turnIndex: 0 });
    events.complete();
    await run;
    expect(sender.pieces.map((p) => p.content).join('')).toBe('one two');
    expect(sender.pieces.map((p) => p.sequence)).toEqual([0, 1]);
  }, 10_000);

  it('stops generating when the receiver refuses for good', async () => {
    const { sender, delivery, events, session } = setup();
    sender.results = [{ ok: false, retryable: false, reason: 'HTTP 410' }];
    const run = delivery.run(async () => session);
    await sleep(0);
    events.next({ type: 'delta', text: 'nobody reads this' });
    await sleep(FLUSH_MS * 2);
    await run;
    expect(events.observed).toBe(false);
    expect(sender.pieces).toEqual([]);
  });

  it('gives up after the last retry', async () => {
    const { sender, delivery, events, session } = setup();
    sender.results = Array.from({ length: CALLBACK_RETRY_DELAYS_MS.length + 1 }, () => ({ ok: false as const, retryable: true, reason: 'NETWORK' }));
    const run = delivery.run(async () => session);
    await sleep(0);
    events.next({ type: 'delta', text: 'x' });
    await run;
    expect(events.observed).toBe(false);
    expect(sender.pieces).toEqual([]);
  }, 10_000);
});
