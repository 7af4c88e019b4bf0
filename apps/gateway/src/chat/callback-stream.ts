import { Logger } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import type { Reference, TurnUsage } from '../conversations/conversation.types';
import { errorEvent } from './chat-errors';
import type { ChatEvent, ChatSession } from './chat.use-case';
import type { ChatMetrics } from './chat.metrics';
import type { CallbackSender } from './callback-sender';
import type { StreamEvents } from './named-sse';

/**
 * One POST to the caller's `response_url`. Pieces arrive in `sequence` order, one at a time
 * (the next is sent only after the previous was acknowledged with a 2xx); `content` pieces
 * concatenate to the answer. The first piece carries the references, the `end` piece the usage
 * (or the error). `Idempotency-Key: <request_id>:<sequence>` lets a receiver drop a retried duplicate.
 */
export interface CallbackPiece {
  request_id: string;
  session_id: string;
  sequence: number;
  status: 'continue' | 'end';
  content: string;
  references?: Omit<Reference, 'text'>[];
  finish_reason?: string;
  usage?: TurnUsage;
  turn_index?: number;
  error?: StreamEvents['error'];
}

/** A failed POST is tried again after these delays (only for network errors, timeouts, 408/429/5xx). */
export const CALLBACK_RETRY_DELAYS_MS = [250, 1_000];

export interface CallbackTarget {
  url: string;
  requestId: string;
  sessionId: string;
}

type Done = Extract<ChatEvent, { type: 'done' }>;

/**
 * Callback streaming: the answer is buffered and POSTed about every `flushMs` as a `continue`
 * piece, then once more as the `end` piece. A receiver that stops accepting (a permanent
 * failure, or retries exhausted) cancels generation: nobody would read the rest.
 */
export class CallbackDelivery {
  private readonly logger = new Logger(CallbackDelivery.name);
  private buffer = '';
  private sequence = 0;
  private referencesSent = false;
  private references: Reference[] = [];
  private inFlight: Promise<boolean> | undefined;
  private failed = false;

  constructor(
    private readonly sender: CallbackSender,
    private readonly target: CallbackTarget,
    private readonly flushMs: number,
    private readonly metrics: ChatMetrics,
  ) {}

  /** Runs the turn and delivers it; never rejects (failures are logged and counted). */
  async run(start: () => Promise<ChatSession>): Promise<void> {
    let session: ChatSession;
    try {
      session = await start();
    } catch (err) {
      await this.send({ status: 'end', content: '', error: errorEvent(err) });
      return;
    }
    this.references = session.references;
    await this.deliver(session);
  }

  private deliver(session: ChatSession): Promise<void> {
    return new Promise<void>((resolve) => {
      let done: Done | undefined;
      const stop = () => {
        clearInterval(timer);
        resolve();
      };
      // The receiver is gone for good: stop generating (unsubscribing cancels the upstream request).
      const giveUp = () => {
        subscription.unsubscribe();
        stop();
      };
      const timer = setInterval(() => this.flush(giveUp), this.flushMs);
      const end = async (piece: Partial<CallbackPiece>) => {
        clearInterval(timer);
        await this.inFlight;
        if (!this.failed) await this.send({ status: 'end', content: this.take(), ...piece });
        stop();
      };
      const subscription: Subscription = session.events.subscribe({
        next: (event) => {
          if (event.type === 'delta') this.buffer += event.text;
          else done = event;
        },
        error: (err: unknown) => void end({ error: errorEvent(err) }),
        complete: () =>
          void end(done ? { finish_reason: done.finishReason, usage: done.usage, turn_index: done.turnIndex } : { error: errorEvent(new Error('incomplete')) }),
      });
    });
  }

  /** A `continue` piece with what arrived since the last one; skipped while the previous POST is out. */
  private flush(giveUp: () => void): void {
    if (this.inFlight || this.buffer === '' || this.failed) return;
    this.inFlight = this.send({ status: 'continue', content: this.take() }).then((delivered) => {
      this.inFlight = undefined;
      if (!delivered) giveUp();
      return delivered;
    });
  }

  private take(): string {
    const text = this.buffer;
    this.buffer = '';
    return text;
  }

  private async send(piece: Pick<CallbackPiece, 'status' | 'content'> & Partial<CallbackPiece>): Promise<boolean> {
    const body: CallbackPiece = {
      request_id: this.target.requestId,
      session_id: this.target.sessionId,
      sequence: this.sequence++,
      ...piece,
    };
    if (!this.referencesSent) {
      body.references = this.references.map((r) => ({ chunk_id: r.chunk_id, document_id: r.document_id, title: r.title, score: r.score }));
      this.referencesSent = true;
    }
    const headers = { 'idempotency-key': `${body.request_id}:${body.sequence}`, 'x-ragmesh-request-id': body.request_id };
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      const result = await this.sender.post(this.target.url, JSON.stringify(body), headers);
      if (result.ok) {
        this.metrics.callbackDuration.observe((performance.now() - started) / 1000);
        this.metrics.callbackPieces.inc({ outcome: 'delivered' });
        return true;
      }
      if (!result.retryable || attempt >= CALLBACK_RETRY_DELAYS_MS.length) {
        this.failed = true;
        this.metrics.callbackPieces.inc({ outcome: 'failed' });
        this.logger.warn(`callback ${body.request_id}#${body.sequence} not delivered after ${attempt + 1} attempt(s): ${result.reason}`);
        return false;
      }
      this.metrics.callbackPieces.inc({ outcome: 'retried' });
      await new Promise((r) => setTimeout(r, CALLBACK_RETRY_DELAYS_MS[attempt]));
    }
  }
}
