import type { StreamEvents } from './named-sse';
import { ABANDONED_ERROR, StreamRecording, type StreamListener } from './stream-recording';
import { EXPIRED_IDS_KEPT, StreamRegistry, type StreamRegistryConfig } from './stream-registry';

const DONE: StreamEvents['done'] = {
  finish_reason: 'stop',
  usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
  timings: { retrieval_ms: 1, ttft_ms: 2, total_ms: 3 },
  turn_index: 0,
};

/** A listener that writes what it gets as "name:payload" lines. */
function collector(): StreamListener & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    send: (event, data) => seen.push(`${event}:${event === 'token' ? (data as StreamEvents['token']).text : ''}`),
    finish: (event) => seen.push(event),
  };
}

function recordingWithTokens(graceMs = 0, tokens = ['a', 'b']): StreamRecording {
  const r = new StreamRecording('s-1', 'conv-1', 'tenant-1', graceMs);
  r.push('reference', { session_id: 'conv-1', references: [] });
  for (const t of tokens) r.push('token', { text: t });
  return r;
}

describe('StreamRecording', () => {
  afterEach(() => jest.useRealTimers());

  it('replays the events after the given id, then follows live ones to the end', () => {
    const r = recordingWithTokens();
    const late = collector();
    r.attach(late, 1);
    expect(late.seen).toEqual(['token:a', 'token:b']);
    r.push('token', { text: 'c' });
    r.finish('done', DONE);
    expect(late.seen).toEqual(['token:a', 'token:b', 'token:c', 'done']);
    expect(r.lastId).toBe(5);
    expect(r.finished).toBe(true);
  });

  it('replays a finished stream and records nothing after its terminal event', () => {
    const r = recordingWithTokens();
    r.finish('done', DONE);
    r.push('token', { text: 'late' });
    r.finish('error', ABANDONED_ERROR);
    const c = collector();
    r.attach(c, 0);
    expect(c.seen).toEqual(['reference:', 'token:a', 'token:b', 'done']);
  });

  it('cancels generation at once when the last listener leaves and there is no grace period', () => {
    const r = recordingWithTokens(0);
    const cancel = jest.fn();
    r.setCancel(cancel);
    const c = collector();
    const detach = r.attach(c, 3);
    detach();
    expect(cancel).toHaveBeenCalledTimes(1);
    expect(r.finished).toBe(true);
    const after = collector();
    r.attach(after, 3);
    expect(after.seen).toEqual(['error']);
  });

  it('keeps generating through the grace period, and a resume within it cancels nothing', () => {
    jest.useFakeTimers();
    const r = recordingWithTokens(1000);
    const cancel = jest.fn();
    r.setCancel(cancel);
    r.attach(collector(), 3)();
    jest.advanceTimersByTime(900);
    r.push('token', { text: 'c' });
    const back = collector();
    r.attach(back, 3);
    jest.advanceTimersByTime(5000);
    expect(cancel).not.toHaveBeenCalled();
    expect(back.seen).toEqual(['token:c']);
  });

  it('cancels generation when nobody comes back within the grace period', () => {
    jest.useFakeTimers();
    const r = recordingWithTokens(1000);
    const cancel = jest.fn();
    r.setCancel(cancel);
    r.attach(collector(), 3)();
    jest.advanceTimersByTime(1000);
    expect(cancel).toHaveBeenCalledTimes(1);
    expect(r.finished).toBe(true);
  });

  it('a second connection leaving does not cancel while the first still listens', () => {
    const r = recordingWithTokens(0);
    const cancel = jest.fn();
    r.setCancel(cancel);
    r.attach(collector(), 0);
    r.attach(collector(), 3)();
    expect(cancel).not.toHaveBeenCalled();
  });
});

describe('StreamRegistry', () => {
  const config = (over: Partial<StreamRegistryConfig> = {}): StreamRegistryConfig => ({
    CHAT_RESUME_RETENTION_MS: 1000,
    CHAT_RESUME_GRACE_MS: 0,
    CHAT_RESUME_MAX_STREAMS: 100,
    ...over,
  });
  afterEach(() => jest.useRealTimers());

  it('keeps a finished stream for the retention window, then answers "expired"', () => {
    jest.useFakeTimers();
    const registry = new StreamRegistry(config());
    const r = registry.create('conv-1', 'tenant-1');
    expect(registry.lookup(r.id, 'tenant-1')).toEqual({ found: r });
    r.finish('done', DONE);
    jest.advanceTimersByTime(999);
    expect(registry.lookup(r.id, 'tenant-1')).toEqual({ found: r });
    jest.advanceTimersByTime(1);
    expect(registry.lookup(r.id, 'tenant-1')).toEqual({ expired: true });
    expect(registry.lookup('00000000-0000-4000-8000-000000000000', 'tenant-1')).toEqual({ unknown: true });
  });

  it("hides another tenant's stream", () => {
    const registry = new StreamRegistry(config());
    const r = registry.create('conv-1', 'tenant-1');
    expect(registry.lookup(r.id, 'tenant-2')).toEqual({ unknown: true });
  });

  it('evicts the oldest finished stream at the cap, never a running one', () => {
    const registry = new StreamRegistry(config({ CHAT_RESUME_MAX_STREAMS: 2 }));
    const running = registry.create('c', 't');
    const finished = registry.create('c', 't');
    finished.finish('done', DONE);
    const third = registry.create('c', 't');
    expect(registry.lookup(running.id, 't')).toEqual({ found: running });
    expect(registry.lookup(finished.id, 't')).toEqual({ expired: true });
    expect(registry.lookup(third.id, 't')).toEqual({ found: third });
    registry.onApplicationShutdown();
  });

  it('with no retention, a stream is resumable only while it runs', () => {
    const registry = new StreamRegistry(config({ CHAT_RESUME_RETENTION_MS: 0 }));
    const r = registry.create('c', 't');
    r.finish('done', DONE);
    expect(registry.lookup(r.id, 't')).toEqual({ expired: true });
  });

  it('forgets the oldest expired ids past its bound', () => {
    const registry = new StreamRegistry(config({ CHAT_RESUME_RETENTION_MS: 0 }));
    const first = registry.create('c', 't');
    first.finish('done', DONE);
    for (let i = 0; i < EXPIRED_IDS_KEPT; i++) registry.create('c', 't').finish('done', DONE);
    expect(registry.lookup(first.id, 't')).toEqual({ unknown: true });
  });

  it('abandons running streams on shutdown, cancelling their generation', () => {
    const registry = new StreamRegistry(config());
    const r = registry.create('c', 't');
    const cancel = jest.fn();
    r.setCancel(cancel);
    registry.onApplicationShutdown();
    expect(cancel).toHaveBeenCalled();
    expect(registry.size).toBe(0);
  });
});
