/** Minimum retry-after hint when nothing better is known. */
export const DEFAULT_RETRY_AFTER_MS = 1_000;

/**
 * Thrown when both the in-flight slots and the wait queue are full, or a queued request waited
 * too long. `retryAfterMs` is when trying again is worth it (sent as `retry-after-ms`).
 */
export class AdmissionRejectedError extends Error {
  override readonly name = 'AdmissionRejectedError';
  constructor(
    message: string,
    readonly retryAfterMs: number = DEFAULT_RETRY_AFTER_MS,
  ) {
    super(message);
  }
}

/** Thrown when a queued request is cancelled before it got a slot. */
export class AdmissionAbortedError extends Error {
  override readonly name = 'AdmissionAbortedError';
}

export type Release = () => void;

interface Waiter {
  grant(release: Release): void;
}

export interface AdmissionSnapshot {
  inFlight: number;
  queued: number;
}

/**
 * At most `maxConcurrency` requests run at once; up to `maxQueue` more wait in FIFO order;
 * beyond that a request is rejected at once, so overload shows as a clear error instead of
 * unbounded latency and memory.
 */
export class AdmissionController {
  private inFlight = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly maxConcurrency: number,
    readonly maxQueue: number,
    private readonly onChange: (snapshot: AdmissionSnapshot) => void = () => undefined,
  ) {
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) throw new Error('maxConcurrency must be an integer >= 1');
    if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new Error('maxQueue must be an integer >= 0');
  }

  snapshot(): AdmissionSnapshot {
    return { inFlight: this.inFlight, queued: this.waiters.length };
  }

  /** Resolves with a release function once a slot is free; call it exactly once when done. */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(new AdmissionAbortedError('request cancelled before admission'));
    if (this.inFlight < this.maxConcurrency) {
      this.inFlight += 1;
      this.changed();
      return Promise.resolve(this.releaseOnce());
    }
    if (this.waiters.length >= this.maxQueue) {
      return Promise.reject(
        new AdmissionRejectedError(
          `generation capacity exhausted: ${this.inFlight} requests in flight (max ${this.maxConcurrency}) ` +
            `and ${this.waiters.length} queued (max ${this.maxQueue}); retry later`,
        ),
      );
    }
    return new Promise<Release>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        this.changed();
        reject(new AdmissionAbortedError('request cancelled while queued'));
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.changed();
    });
  }

  private releaseOnce(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) {
        // The slot passes straight to the next waiter: in-flight stays the same.
        next.grant(this.releaseOnce());
      } else {
        this.inFlight -= 1;
      }
      this.changed();
    };
  }

  private changed(): void {
    this.onChange(this.snapshot());
  }
}
