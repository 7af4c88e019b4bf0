import type { ChatEngine, GenerateEvent, GenerateInput, SummarizeInput } from '@ragmesh/llm';
import { BreakerState, CircuitBreaker } from './circuit-breaker';

/** Why an upstream attempt failed; the label of the errors-by-cause counter. */
export type UpstreamErrorCause =
  | 'http_5xx'
  | 'http_429'
  | 'network'
  | 'ttft_timeout'
  | 'mid_stream'
  | 'health_check'
  | 'no_upstream';

export interface PoolObserver {
  inFlightChanged(upstream: string, value: number): void;
  breakerChanged(upstream: string, state: BreakerState): void;
  attemptFailed(upstream: string, cause: UpstreamErrorCause): void;
}

export interface PoolMemberConfig {
  /** Label in metrics and logs (host:port of the upstream). */
  name: string;
  engine: ChatEngine;
  /** Resolves when the upstream is healthy, rejects otherwise. */
  healthCheck: () => Promise<void>;
}

export interface UpstreamPoolOptions {
  members: PoolMemberConfig[];
  /** No first token within this → the attempt is abandoned, the breaker trips, another upstream is tried. */
  ttftTimeoutMs: number;
  /** Attempts per request, each on a different upstream; only ever before the first token. */
  maxAttempts: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  /** Sessions remembered for affinity; the oldest is forgotten past this. */
  affinityMaxSessions: number;
  /** 0 disables the periodic checks (unit tests drive `checkHealth` by hand). */
  healthIntervalMs: number;
  observer?: PoolObserver;
  now?: () => number;
}

/** No upstream can take the request (all down, open or already tried). Looks like a 503 to the caller. */
export class NoUpstreamAvailableError extends Error {
  override readonly name = 'NoUpstreamAvailableError';
  readonly status = 503;
}

/** First token did not arrive within the configured time. */
export class FirstTokenTimeoutError extends Error {
  override readonly name = 'FirstTokenTimeoutError';
}

interface Member {
  name: string;
  engine: ChatEngine;
  healthCheck: () => Promise<void>;
  breaker: CircuitBreaker;
  outstanding: number;
  healthy: boolean;
}

const HTTP_TOO_MANY_REQUESTS = 429;
const HTTP_REQUEST_TIMEOUT = 408;

function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const s = (err as { status?: unknown }).status;
  return typeof s === 'number' ? s : undefined;
}

/**
 * A 4xx other than 408/429 is about the request (bad model, bad body): another upstream
 * would say the same, and the upstream is healthy, so neither retry nor count it.
 */
function isRequestError(err: unknown): boolean {
  const status = statusOf(err);
  return status !== undefined && status >= 400 && status < 500 && status !== HTTP_TOO_MANY_REQUESTS && status !== HTTP_REQUEST_TIMEOUT;
}

function causeOf(err: unknown): UpstreamErrorCause {
  if (err instanceof FirstTokenTimeoutError) return 'ttft_timeout';
  const status = statusOf(err);
  if (status === HTTP_TOO_MANY_REQUESTS) return 'http_429';
  if (status !== undefined && status >= 500) return 'http_5xx';
  return 'network';
}

export interface PoolSnapshotEntry {
  name: string;
  outstanding: number;
  healthy: boolean;
  breaker: BreakerState;
}

/**
 * OpenAI-compatible upstreams behind one engine: least outstanding requests, session
 * affinity (a conversation returns to the server holding its prefix cache while that server
 * is usable), a breaker per upstream, active /health checks, and retry on another upstream
 * only before the first token, so no text is ever sent twice.
 */
export class UpstreamPool {
  private readonly members: Member[];
  /** Insertion-ordered, so the first key is the least recently used session. */
  private readonly affinity = new Map<string, string>();
  private rotation = 0;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(private readonly opts: UpstreamPoolOptions) {
    if (opts.members.length === 0) throw new RangeError('UpstreamPool needs at least one upstream');
    const names = new Set(opts.members.map((m) => m.name));
    if (names.size !== opts.members.length) throw new RangeError('UpstreamPool upstream names must be unique');
    this.members = opts.members.map((m) => {
      const member: Member = {
        ...m,
        outstanding: 0,
        healthy: true,
        breaker: new CircuitBreaker({
          failureThreshold: opts.breakerFailures,
          cooldownMs: opts.breakerCooldownMs,
          now: opts.now,
          onStateChange: (state) => opts.observer?.breakerChanged(m.name, state),
        }),
      };
      opts.observer?.breakerChanged(m.name, 'closed');
      opts.observer?.inFlightChanged(m.name, 0);
      return member;
    });
  }

  get size(): number {
    return this.members.length;
  }

  startHealthChecks(): void {
    if (this.opts.healthIntervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.checkHealth(), this.opts.healthIntervalMs);
    // Health checks alone must not keep the process (or a test) alive.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round of active checks; a failing upstream stops receiving new requests until it passes. */
  async checkHealth(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await Promise.all(
        this.members.map(async (m) => {
          try {
            await m.healthCheck();
            m.healthy = true;
          } catch {
            if (m.healthy) this.opts.observer?.attemptFailed(m.name, 'health_check');
            m.healthy = false;
          }
        }),
      );
    } finally {
      this.checking = false;
    }
  }

  /** The upstream a session is pinned to, if it is still remembered. */
  affinityOf(sessionId: string): string | undefined {
    return this.affinity.get(sessionId);
  }

  snapshot(): PoolSnapshotEntry[] {
    return this.members.map((m) => ({ name: m.name, outstanding: m.outstanding, healthy: m.healthy, breaker: m.breaker.current }));
  }

  /**
   * The upstream for the next attempt: the session's previous upstream when it is usable,
   * else the one with the fewest outstanding requests (ties rotate, so idle upstreams share load).
   */
  pick(sessionId: string | undefined, exclude: ReadonlySet<string> = new Set()): string | undefined {
    const usable = (m: Member) => !exclude.has(m.name) && m.healthy && m.breaker.canAttempt();
    if (sessionId) {
      const previous = this.affinity.get(sessionId);
      const member = previous === undefined ? undefined : this.members.find((m) => m.name === previous);
      if (member && usable(member)) {
        this.remember(sessionId, member.name);
        return member.name;
      }
    }
    const n = this.members.length;
    const start = this.rotation++ % n;
    let best: Member | undefined;
    for (let i = 0; i < n; i++) {
      const m = this.members[(start + i) % n];
      if (usable(m) && (!best || m.outstanding < best.outstanding)) best = m;
    }
    if (best && sessionId) this.remember(sessionId, best.name);
    return best?.name;
  }

  /** A ChatEngine bound to one session, for the engine router. */
  engineFor(sessionId: string | undefined): ChatEngine {
    return {
      name: this.members[0].engine.name,
      generate: (input) => this.generate(input, sessionId),
      summarize: (input) => this.summarize(input, sessionId),
      listModels: () => this.listModels(),
    };
  }

  async *generate(input: GenerateInput, sessionId?: string): AsyncGenerator<GenerateEvent> {
    const tried = new Set<string>();
    let lastError: unknown;
    for (let attempt = 0; attempt < this.opts.maxAttempts; attempt++) {
      input.signal?.throwIfAborted();
      const name = this.pick(sessionId, tried);
      if (name === undefined) break;
      tried.add(name);
      const member = this.member(name);
      const attemptAbort = new AbortController();
      const onCallerAbort = () => attemptAbort.abort(input.signal?.reason);
      input.signal?.addEventListener('abort', onCallerAbort, { once: true });
      this.begin(member);
      let startedText = false;
      let settled = false;
      const iterator = member.engine.generate({ ...input, signal: attemptAbort.signal })[Symbol.asyncIterator]();
      try {
        const first = await this.firstEvent(iterator, attemptAbort);
        if (first === undefined) throw new Error('upstream stream ended without any event');
        startedText = true;
        yield first;
        // From here on text has reached the caller: a failure ends the request, never retries.
        for (;;) {
          const next = await iterator.next();
          if (next.done) break;
          yield next.value;
        }
        settled = true;
        member.breaker.onSuccess();
        return;
      } catch (err) {
        if (input.signal?.aborted) throw err;
        if (isRequestError(err)) throw err;
        settled = true;
        if (startedText) {
          member.breaker.onFailure();
          this.opts.observer?.attemptFailed(name, 'mid_stream');
          throw err;
        }
        if (err instanceof FirstTokenTimeoutError) member.breaker.trip();
        else member.breaker.onFailure();
        this.opts.observer?.attemptFailed(name, causeOf(err));
        lastError = err;
      } finally {
        // Also reached when the consumer stops iterating: the upstream request must stop too.
        attemptAbort.abort();
        void Promise.resolve(iterator.return?.()).catch(() => undefined);
        input.signal?.removeEventListener('abort', onCallerAbort);
        if (!settled) member.breaker.onAbandoned();
        this.end(member);
      }
    }
    throw this.exhausted(tried, lastError);
  }

  async summarize(input: SummarizeInput, sessionId?: string): Promise<string> {
    // A summary is one JSON answer: nothing reached the caller yet, so every failure may retry.
    const tried = new Set<string>();
    let lastError: unknown;
    for (let attempt = 0; attempt < this.opts.maxAttempts; attempt++) {
      input.signal?.throwIfAborted();
      const name = this.pick(sessionId, tried);
      if (name === undefined) break;
      tried.add(name);
      const member = this.member(name);
      this.begin(member);
      try {
        const summary = await member.engine.summarize(input);
        member.breaker.onSuccess();
        return summary;
      } catch (err) {
        if (input.signal?.aborted || isRequestError(err)) {
          member.breaker.onAbandoned();
          throw err;
        }
        member.breaker.onFailure();
        this.opts.observer?.attemptFailed(name, causeOf(err));
        lastError = err;
      } finally {
        this.end(member);
      }
    }
    throw this.exhausted(tried, lastError);
  }

  /** The models of the first upstream that answers, healthy ones first. */
  async listModels(): Promise<string[]> {
    const ordered = [...this.members].sort((a, b) => Number(b.healthy) - Number(a.healthy));
    let lastError: unknown;
    for (const m of ordered) {
      try {
        return await m.engine.listModels();
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }

  /**
   * Waits for the first event that carries text (or the final one), racing the TTFT timeout.
   * Role-only and empty deltas are dropped here: they are not a first token.
   */
  private async firstEvent(iterator: AsyncIterator<GenerateEvent>, attemptAbort: AbortController): Promise<GenerateEvent | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new FirstTokenTimeoutError(`no first token within ${this.opts.ttftTimeoutMs} ms`);
        attemptAbort.abort(err);
        reject(err);
      }, this.opts.ttftTimeoutMs);
    });
    timeout.catch(() => undefined);
    try {
      for (;;) {
        const pending = iterator.next();
        // After a timeout the engine rejects with its own abort error; nobody awaits it any more.
        pending.catch(() => undefined);
        const next = await Promise.race([pending, timeout]);
        if (next.done) return undefined;
        if (next.value.type === 'done' || next.value.text !== '') return next.value;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private exhausted(tried: ReadonlySet<string>, lastError: unknown): Error {
    if (lastError !== undefined) {
      // Keep the upstream's own status so the use case can classify it (e.g. 503 → UNAVAILABLE).
      return lastError instanceof Error ? lastError : new Error(String(lastError));
    }
    this.opts.observer?.attemptFailed('none', 'no_upstream');
    const states = this.snapshot()
      .map((s) => `${s.name}: ${s.healthy ? 'healthy' : 'unhealthy'}, breaker ${s.breaker}${tried.has(s.name) ? ', tried' : ''}`)
      .join('; ');
    return new NoUpstreamAvailableError(`no upstream available (${states})`);
  }

  private member(name: string): Member {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`unknown upstream ${name}`);
    return m;
  }

  private begin(m: Member): void {
    m.breaker.onAttempt();
    m.outstanding++;
    this.opts.observer?.inFlightChanged(m.name, m.outstanding);
  }

  private end(m: Member): void {
    m.outstanding--;
    this.opts.observer?.inFlightChanged(m.name, m.outstanding);
  }

  private remember(sessionId: string, name: string): void {
    this.affinity.delete(sessionId);
    this.affinity.set(sessionId, name);
    if (this.affinity.size > this.opts.affinityMaxSessions) {
      const oldest = this.affinity.keys().next().value;
      if (oldest !== undefined) this.affinity.delete(oldest);
    }
  }
}
