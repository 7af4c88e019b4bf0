import type { Response } from 'express';

export const SSE_DONE = '[DONE]';

/** One SSE event carrying JSON on a single `data:` line (JSON.stringify never emits raw newlines). */
export function sseData(payload: unknown): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
}

export interface SseErrorBody {
  error: { message: string; type: string; code: number | string | null };
}

export function sseError(message: string, type: string, code: number | string | null): string {
  const body: SseErrorBody = { error: { message, type, code } };
  return sseData(body);
}

/**
 * Sets the status and headers of an event stream (both chat streams share them) and, with
 * `flush`, sends them at once; otherwise they leave with the first event, in the same write.
 */
export function openEventStream(res: Response, headers: Record<string, string> = {}, flush = true): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  // Reverse proxies (nginx) must not buffer tokens.
  res.setHeader('X-Accel-Buffering', 'no');
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (flush) res.flushHeaders();
}

/** Writes an SSE response; knows whether the client is still there. */
export class SseWriter {
  private started = false;

  constructor(private readonly res: Response) {}

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
  }

  send(payload: unknown): void {
    if (this.isOpen) this.res.write(sseData(payload));
  }

  done(): void {
    if (!this.isOpen) return;
    this.res.write(sseData(SSE_DONE));
    this.res.end();
  }

  fail(message: string, type: string, code: number | string | null): void {
    if (!this.isOpen) return;
    this.res.write(sseError(message, type, code));
    this.res.end();
  }
}
