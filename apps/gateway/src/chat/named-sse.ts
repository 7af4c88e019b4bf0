import type { Response } from 'express';
import type { Reference, TurnUsage } from '../conversations/conversation.types';
import { openEventStream } from './sse';

/** The native stream's vocabulary: `reference` once, `token` per delta, then exactly one of `done` / `error`. */
export interface StreamEvents {
  // stream_id: what GET /v1/chat/stream/{id} resumes (chat/stream-recording.ts); query: the rewrite used for retrieval.
  reference: { session_id: string; references: Omit<Reference, 'text'>[]; stream_id?: string; query?: unknown };
  token: { text: string };
  done: {
    finish_reason: string;
    usage: TurnUsage;
    timings: { retrieval_ms: number; ttft_ms: number; total_ms: number };
    turn_index: number;
  };
  error: { code: string; message: string; status: number };
}

export type StreamEventName = keyof StreamEvents;

export const HEARTBEAT_COMMENT = 'ping';

/** One named event; JSON.stringify never emits raw newlines, so a single `data:` line is always enough. */
export function formatEvent<K extends StreamEventName>(id: number, event: K, data: StreamEvents[K]): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A comment line: ignored by every SSE parser, but it is traffic, so idle timeouts do not fire. */
export function formatComment(text: string): string {
  return `: ${text}\n\n`;
}

/** Stable, machine-readable error codes for the `error` event, from the HTTP status the failure maps to. */
export function errorCodeFor(status: number): string {
  if (status === 400 || status === 422) return 'invalid_request';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'upstream_unavailable';
  if (status === 502 || status === 504) return 'upstream_error';
  return 'internal_error';
}

/**
 * Writes the native SSE stream: numbered events, comment heartbeats whenever nothing else was
 * written for `heartbeatMs`, and at most one terminal event (`done` or `error`).
 */
export class NamedSseWriter {
  private started = false;
  private heartbeat: NodeJS.Timeout | undefined;

  /** `nextId` > 1 continues a resumed stream after the client's Last-Event-ID. */
  constructor(
    private readonly res: Response,
    private readonly heartbeatMs: number,
    private nextId = 1,
  ) {}

  get isOpen(): boolean {
    return !this.res.writableEnded && !this.res.destroyed;
  }

  get hasStarted(): boolean {
    return this.started;
  }

  /** `flush` false when an event is written right after: the headers go out with it (one write less). */
  start(headers: Record<string, string> = {}, flush = true): void {
    if (this.started) return;
    this.started = true;
    openEventStream(this.res, headers, flush);
    this.heartbeat = setTimeout(() => this.ping(), this.heartbeatMs);
    // A pending heartbeat must never keep the process alive on shutdown.
    this.heartbeat.unref();
  }

  send<K extends Exclude<StreamEventName, 'done' | 'error'>>(event: K, data: StreamEvents[K]): void {
    this.write(formatEvent(this.nextId++, event, data));
  }

  finish<K extends 'done' | 'error'>(event: K, data: StreamEvents[K]): void {
    this.write(formatEvent(this.nextId++, event, data));
    this.close();
  }

  /** Stops the heartbeat and ends the response if it is still open. */
  close(): void {
    clearTimeout(this.heartbeat);
    this.heartbeat = undefined;
    if (this.isOpen) this.res.end();
  }

  private ping(): void {
    this.write(formatComment(HEARTBEAT_COMMENT));
  }

  private write(frame: string): void {
    if (!this.isOpen) return;
    this.res.write(frame);
    // Re-arming the one timer is cheaper than a timer per token; the ping only fires after a quiet period.
    this.heartbeat?.refresh();
  }
}
