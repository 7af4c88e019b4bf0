import { HttpStatus } from '@nestjs/common';
import type { Response } from 'express';
import type { ChatSession } from './chat.use-case';
import { errorCodeFor, NamedSseWriter, type StreamEvents } from './named-sse';
import type { StreamListener, StreamRecording } from './stream-recording';

/** The response closed before the answer was complete: the client is gone, nobody to answer. */
export class ClientGone extends Error {}

/** The error was already reported in the stream; rethrown only so the outcome is counted. */
export class StreamFailed extends Error {
  constructor(readonly reason: unknown) {
    super('stream failed after it started');
  }
}

export const STREAM_ID_HEADER = 'x-stream-id';
const INCOMPLETE = 'generation ended without a final chunk';

export interface RecordOptions {
  heartbeatMs: number;
  reference: StreamEvents['reference'];
  onFirstToken(ttftMs: number): void;
  /** Generation failed before any event was recorded: the first client gets it as an HTTP status. */
  onEarlyError(err: unknown): void;
  describeError(err: unknown): StreamEvents['error'];
}

/**
 * Feeds one chat turn into its recording: `reference` first (with the first upstream event, or
 * after `heartbeatMs` of waiting so heartbeats can start), `token`s, then `done` or `error`.
 * Unsubscribing — when the recording is abandoned — cancels the gRPC call and the upstream request.
 */
export function recordSession(session: ChatSession, recording: StreamRecording, opts: RecordOptions): void {
  const { startedAt, retrievalMs } = session.timings;
  let ttftMs: number | undefined;
  const begin = () => {
    clearTimeout(openAnyway);
    if (recording.lastId === 0) recording.push('reference', opts.reference);
  };
  const openAnyway = setTimeout(begin, opts.heartbeatMs);
  const subscription = session.events.subscribe({
    next: (event) => {
      begin();
      if (event.type === 'delta') {
        if (ttftMs === undefined) {
          ttftMs = performance.now() - startedAt;
          opts.onFirstToken(ttftMs);
        }
        recording.push('token', { text: event.text });
        return;
      }
      recording.finish('done', {
        finish_reason: event.finishReason,
        usage: event.usage,
        timings: { retrieval_ms: round(retrievalMs), ttft_ms: round(ttftMs ?? 0), total_ms: round(performance.now() - startedAt) },
        turn_index: event.turnIndex,
      });
    },
    error: (err: unknown) => {
      clearTimeout(openAnyway);
      if (recording.lastId === 0) return opts.onEarlyError(err);
      recording.finish('error', opts.describeError(err));
    },
    complete: () => {
      begin();
      // The use-case always ends with `done`; should it ever not, the client still learns the answer is incomplete.
      recording.finish('error', { code: errorCodeFor(HttpStatus.BAD_GATEWAY), message: INCOMPLETE, status: HttpStatus.BAD_GATEWAY });
    },
  });
  recording.setCancel(() => {
    clearTimeout(openAnyway);
    subscription.unsubscribe();
  });
}

export interface Follower {
  /** Resolves when the terminal event was written: `done`; rejects with StreamFailed (`error` event) or ClientGone. */
  outcome: Promise<void>;
  detach(): void;
}

/**
 * Writes a recording to one HTTP response from `afterId` on, numbering events from
 * `afterId + 1`. With `startNow` false the headers go out with the first event, so a failure
 * before it can still be an HTTP status.
 */
export function followRecording(
  res: Response,
  recording: StreamRecording,
  opts: { afterId: number; heartbeatMs: number; headers: Record<string, string>; startNow: boolean },
): Follower {
  const sse = new NamedSseWriter(res, opts.heartbeatMs, opts.afterId + 1);
  if (opts.startNow) sse.start(opts.headers);
  let detach: () => void = () => undefined;
  let finished = false;
  const outcome = new Promise<void>((resolve, reject) => {
    const listener: StreamListener = {
      send: (event, data) => {
        sse.start(opts.headers, false);
        sse.send(event, data);
      },
      finish: (event, data) => {
        finished = true;
        sse.start(opts.headers, false);
        sse.finish(event, data);
        if (event === 'done') resolve();
        else reject(new StreamFailed((data as StreamEvents['error']).message));
      },
    };
    // Closed before the terminal event: the client left, or the server ended the response
    // (shutdown). Either way this connection stops listening; generation gets the grace period.
    res.on('close', () => {
      sse.close();
      if (finished) return;
      detach();
      reject(new ClientGone());
    });
    detach = recording.attach(listener, opts.afterId);
  });
  return { outcome, detach: () => detach() };
}

/** Timings are reported to a tenth of a millisecond; finer digits are noise. */
const round = (ms: number): number => Math.round(ms * 10) / 10;
