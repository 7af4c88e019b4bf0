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

  start(headers: Record<string, string> = {}): void {
    if (this.started) return;
    this.started = true;
    this.res.status(200);
    this.res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    this.res.setHeader('Cache-Control', 'no-cache, no-transform');
    this.res.setHeader('Connection', 'keep-alive');
    // Reverse proxies (nginx) must not buffer tokens.
    this.res.setHeader('X-Accel-Buffering', 'no');
    for (const [k, v] of Object.entries(headers)) this.res.setHeader(k, v);
    this.res.flushHeaders();
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
