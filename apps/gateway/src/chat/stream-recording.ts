import type { StreamEventName, StreamEvents } from './named-sse';

type Terminal = 'done' | 'error';
type Progress = Exclude<StreamEventName, Terminal>;

/** A connection following a recording: it gets every event after the id it attached at, in order. */
export interface StreamListener {
  send<K extends Progress>(event: K, data: StreamEvents[K]): void;
  finish<K extends Terminal>(event: K, data: StreamEvents[K]): void;
}

interface RecordedEvent {
  event: StreamEventName;
  data: StreamEvents[StreamEventName];
}

/** What the terminal `error` event says when generation was cancelled because nobody was listening. */
export const ABANDONED_ERROR: StreamEvents['error'] = {
  code: 'cancelled',
  message: 'generation cancelled: no client was connected to the stream',
  status: 499,
};

/**
 * The events of one native chat stream, kept so a client can resume after its Last-Event-ID
 * without generation running again. Event n (1-based) is the SSE id n. Generation writes
 * here once; every connection (the first one and any resumed one) is a listener. Per token:
 * one array push and one call per listener.
 *
 * When the last listener leaves a stream still generating, generation goes on for
 * `graceMs` (a reconnecting client finds it running); after that it is cancelled upstream.
 */
export class StreamRecording {
  private readonly events: RecordedEvent[] = [];
  private readonly listeners = new Set<StreamListener>();
  private cancel: (() => void) | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private finishedAtMs: number | undefined;
  private onFinished: (() => void) | undefined;

  constructor(
    readonly id: string,
    readonly conversationId: string,
    /** Only the tenant that started a stream may resume it. */
    readonly tenant: string,
    private readonly graceMs: number,
  ) {}

  /** The id of the last recorded event (0 before the first). */
  get lastId(): number {
    return this.events.length;
  }

  get finished(): boolean {
    return this.finishedAtMs !== undefined;
  }

  get finishedAt(): number | undefined {
    return this.finishedAtMs;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** How to stop generation when nobody comes back within the grace period. */
  setCancel(cancel: () => void): void {
    this.cancel = cancel;
  }

  /** Called once, when the terminal event is recorded (the registry starts the retention clock). */
  whenFinished(callback: () => void): void {
    this.onFinished = callback;
  }

  push<K extends Progress>(event: K, data: StreamEvents[K]): void {
    if (this.finished) return;
    this.events.push({ event, data });
    for (const listener of this.listeners) listener.send(event, data);
  }

  finish<K extends Terminal>(event: K, data: StreamEvents[K]): void {
    if (this.finished) return;
    this.events.push({ event, data });
    this.finishedAtMs = Date.now();
    clearTimeout(this.graceTimer);
    this.cancel = undefined;
    for (const listener of this.listeners) listener.finish(event, data);
    this.listeners.clear();
    this.onFinished?.();
  }

  /**
   * Replays every event after `afterId`, then follows live ones until the terminal event.
   * Returns the detach function (idempotent). `afterId` must be ≤ lastId.
   */
  attach(listener: StreamListener, afterId: number): () => void {
    for (let i = afterId; i < this.events.length; i++) deliver(listener, this.events[i]);
    if (this.finished) return () => undefined;
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.listeners.add(listener);
    return () => this.detach(listener);
  }

  /** Stops generation now (shutdown, eviction); the stream ends with the `cancelled` error. */
  abandon(): void {
    const cancel = this.cancel;
    this.cancel = undefined;
    cancel?.();
    this.finish('error', ABANDONED_ERROR);
  }

  private detach(listener: StreamListener): void {
    if (!this.listeners.delete(listener) || this.finished || this.listeners.size > 0) return;
    if (this.graceMs <= 0) return this.abandon();
    this.graceTimer = setTimeout(() => this.abandon(), this.graceMs);
    this.graceTimer.unref();
  }
}

function deliver(listener: StreamListener, recorded: RecordedEvent): void {
  if (recorded.event === 'done' || recorded.event === 'error') {
    listener.finish(recorded.event, recorded.data as StreamEvents[Terminal]);
  } else {
    listener.send(recorded.event, recorded.data as StreamEvents[Progress]);
  }
}
