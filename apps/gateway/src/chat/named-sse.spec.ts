import type { Response } from 'express';
import { Observable, Subject } from 'rxjs';
import type { GatewayMetrics } from '../http/metrics';
import { ChatController } from './chat.controller';
import type { ChatRequestBody } from './chat.schema';
import type { ChatEvent, ChatSession, ChatUseCase } from './chat.use-case';
import { errorCodeFor, formatComment, formatEvent, NamedSseWriter } from './named-sse';
import { FakeResponse } from '../../test/fake-response';
import { MetricsService } from '@ragmesh/observability';
import { Registry } from 'prom-client';
import type { CallbackSender } from './callback-sender';
import { ChatMetrics } from './chat.metrics';
import { StreamRegistry } from './stream-registry';

class FrameRecorder extends FakeResponse {
  /** What the API-key guard leaves on the request. */
  req = { principal: { tenant: 'tenant-1' } };
  /** The frames as {id, event, data} in order, heartbeats as {comment}. */
  frames(): ({ id: string; event: string; data: unknown } | { comment: string })[] {
    return this.written.map((frame) => {
      if (frame.startsWith(': ')) return { comment: frame.slice(2).trim() };
      const [id, event, data] = frame.trim().split('\n');
      return { id: id.slice('id: '.length), event: event.slice('event: '.length), data: JSON.parse(data.slice('data: '.length)) as unknown };
    });
  }
}

const HEARTBEAT_MS = 1000;
const REF = { chunk_id: 'doc-1#0', document_id: 'doc-1', title: 'Seoul', score: 0.9, text: 'secret chunk text' };
const USAGE = { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 };
const body = { messages: [{ role: 'user', content: 'q' }], rag: true } as ChatRequestBody;

function controllerWith(events: Observable<ChatEvent>, onExecute: () => void = () => undefined) {
  const session: ChatSession = {
    conversationId: 'conv-1',
    references: [REF],
    timings: { startedAt: performance.now(), retrievalMs: 12.34 },
    events,
  };
  const chat = { execute: () => (onExecute(), Promise.resolve(session)) } as unknown as ChatUseCase;
  const outcomes: string[] = [];
  const metrics = { chat: (_s: boolean, _r: boolean, o: string) => outcomes.push(o), ttft: { observe: () => undefined } } as unknown as GatewayMetrics;
  const config = { CHAT_HEARTBEAT_MS: HEARTBEAT_MS, CHAT_CALLBACK_FLUSH_MS: 1000, CHAT_RESUME_RETENTION_MS: 60_000, CHAT_RESUME_GRACE_MS: 0, CHAT_RESUME_MAX_STREAMS: 10 };
  const chatMetrics = new ChatMetrics(new MetricsService(undefined, new Registry()));
  const controller = new ChatController(chat, metrics, chatMetrics, new StreamRegistry(config), {} as CallbackSender, config);
  return { controller, outcomes };
}

describe('named SSE formatting', () => {
  it('writes id, event name and one JSON data line per event', () => {
    expect(formatEvent(3, 'token', { text: 'a\nb' })).toBe('id: 3\nevent: token\ndata: {"text":"a\\nb"}\n\n');
    expect(formatComment('ping')).toBe(': ping\n\n');
  });

  it('maps HTTP statuses to stable error codes', () => {
    expect(errorCodeFor(429)).toBe('rate_limited');
    expect(errorCodeFor(503)).toBe('upstream_unavailable');
    expect(errorCodeFor(400)).toBe('invalid_request');
    expect(errorCodeFor(500)).toBe('internal_error');
  });

  it('pings only after a quiet period and allows one terminal event', () => {
    jest.useFakeTimers();
    try {
      const res = new FrameRecorder();
      const sse = new NamedSseWriter(res as unknown as Response, HEARTBEAT_MS);
      sse.start();
      jest.advanceTimersByTime(HEARTBEAT_MS - 1);
      sse.send('token', { text: 'x' });
      jest.advanceTimersByTime(HEARTBEAT_MS - 1);
      expect(res.written).toHaveLength(1);
      jest.advanceTimersByTime(1);
      expect(res.written.at(-1)).toBe(': ping\n\n');
      sse.finish('error', { code: 'internal_error', message: 'm', status: 500 });
      sse.finish('done', { finish_reason: 'stop', usage: USAGE, timings: { retrieval_ms: 0, ttft_ms: 0, total_ms: 0 }, turn_index: 0 });
      jest.advanceTimersByTime(HEARTBEAT_MS * 3);
      expect(res.frames().map((f) => ('event' in f ? f.event : 'ping'))).toEqual(['token', 'ping', 'error']);
      expect(res.headers['x-accel-buffering']).toBe('no');
      expect(res.headers['cache-control']).toMatch(/no-cache/);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('ChatController.stream', () => {
  it('sends reference, then tokens, then done with usage and timings, numbering every event', async () => {
    const events = new Observable<ChatEvent>((s) => {
      s.next({ type: 'delta', text: 'Hel' });
      s.next({ type: 'delta', text: 'lo' });
      s.next({ type: 'done', finishReason: 'stop', usage: USAGE, model: 'm', turnIndex: 4 });
      s.complete();
    });
    const { controller, outcomes } = controllerWith(events);
    const res = new FrameRecorder();
    await controller.stream(body, undefined, undefined, res as unknown as Response);
    const frames = res.frames();
    expect(frames.map((f) => ('event' in f ? `${f.id}:${f.event}` : 'ping'))).toEqual(['1:reference', '2:token', '3:token', '4:done']);
    expect(frames[0]).toEqual(
      expect.objectContaining({
        data: { session_id: 'conv-1', stream_id: expect.any(String), references: [{ chunk_id: 'doc-1#0', document_id: 'doc-1', title: 'Seoul', score: 0.9 }] },
      }),
    );
    const done = frames[3] as { data: { usage: unknown; turn_index: number; timings: { retrieval_ms: number; ttft_ms: number; total_ms: number } } };
    expect(done.data.usage).toEqual(USAGE);
    expect(done.data.turn_index).toBe(4);
    expect(done.data.timings.retrieval_ms).toBe(12.3);
    expect(done.data.timings.total_ms).toBeGreaterThanOrEqual(done.data.timings.ttft_ms);
    expect(res.headers['x-session-id']).toBe('conv-1');
    expect(res.writableEnded).toBe(true);
    expect(outcomes).toEqual(['ok']);
  });

  it('ends with an error event, after the tokens already sent, when generation fails mid-stream', async () => {
    const events = new Observable<ChatEvent>((s) => {
      s.next({ type: 'delta', text: 'partial' });
      s.error(Object.assign(new Error('gone'), { code: 14, details: 'upstream vanished', metadata: {} }));
    });
    const { controller, outcomes } = controllerWith(events);
    const res = new FrameRecorder();
    await controller.stream(body, undefined, undefined, res as unknown as Response);
    const frames = res.frames();
    expect(frames.map((f) => ('event' in f ? f.event : 'ping'))).toEqual(['reference', 'token', 'error']);
    expect(frames[2]).toEqual(expect.objectContaining({ data: { code: 'upstream_unavailable', message: 'upstream vanished', status: 503 } }));
    expect(res.writableEnded).toBe(true);
    expect(outcomes).toEqual(['error']);
  });

  it('keeps the HTTP status when generation fails before anything was sent', async () => {
    const events = new Observable<ChatEvent>((s) => s.error(Object.assign(new Error('busy'), { code: 8, details: 'queue full', metadata: {} })));
    const { controller } = controllerWith(events);
    const res = new FrameRecorder();
    await expect(controller.stream(body, undefined, undefined, res as unknown as Response)).rejects.toEqual(expect.objectContaining({ code: 8 }));
    expect(res.written).toEqual([]);
  });

  it('cancels the generation when the client goes away', async () => {
    const upstream = new Subject<ChatEvent>();
    const { controller, outcomes } = controllerWith(upstream);
    const res = new FrameRecorder();
    const done = controller.stream(body, undefined, undefined, res as unknown as Response);
    await new Promise((r) => setImmediate(r));
    upstream.next({ type: 'delta', text: 'a' });
    expect(upstream.observed).toBe(true);
    res.destroyed = true;
    res.emit('close');
    await done;
    expect(upstream.observed).toBe(false);
    expect(outcomes).toEqual(['cancelled']);
  });
});
