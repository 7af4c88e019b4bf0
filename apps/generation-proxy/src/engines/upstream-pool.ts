import type { ChatEngine, GenerateEvent, GenerateInput, SummarizeInput } from '@ragmesh/llm';
import { AdmissionAbortedError, AdmissionRejectedError } from '../generation/admission-control';
import { BreakerState, CircuitBreaker } from './circuit-breaker';
import { hasImageParts, type ProxyChatMessage } from './content-parts';

/** Why an upstream attempt (or a request waiting for one) failed; the label of the errors-by-cause counter. */
export type UpstreamErrorCause =
  | 'refused'
  | 'http_5xx'
  | 'http_429'
  | 'network'
  | 'ttft_timeout'
  | 'mid_stream'
  | 'cancelled'
  | 'health_check'
  | 'no_upstream'
  | 'queue_full'
  | 'queue_timeout';

export interface PoolObserver {
  inFlightChanged(upstream: string, value: number): void;
  breakerChanged(upstream: string, state: BreakerState): void;
  attemptFailed(upstream: string, cause: UpstreamErrorCause): void;
  /** Requests waiting for a free upstream slot. */
  queueChanged?(queued: number): void;
  /** How long a request waited for its slot (0 when one was free). */
  queueWaited?(seconds: number): void;
  /** An upstream left the pool: its labelled series should go too. */
  upstreamRemoved?(upstream: string): void;
}

/** What an active health check learned: the models the upstream serves (its /v1/models). */
export interface HealthReport {
  models?: string[];
}

/** One upstream as the pool needs it; `engine` and `healthCheck` are already connected. */
export interface PoolMemberConfig {
  /** Label in metrics, logs and `upstream` fields (host:port of the upstream). */
  name: string;
  engine: ChatEngine;
  /** Resolves when the upstream is healthy (optionally with what it serves), rejects otherwise. */
  healthCheck: () => Promise<HealthReport | void>;
  /** Requests sent to it at once (vLLM's --max-num-seqs or less); more wait in the pool's queue. */
  maxConcurrency?: number;
  /** Models it serves that read image content parts; '*' = every model it serves. */
  multimodalModels?: readonly string[];
  /** Kept so a replace can tell "same upstream" from "same name, new address". */
  url?: string;
  /** Share of traffic relative to the other members (the registry's weight); default 1. */
  weight?: number;
}

/** An upstream described by its address: how config and the registry list them. */
export interface UpstreamSpec {
  /** Base URL, with or without /v1. */
  url: string;
  /** Defaults to host:port of the URL. */
  name?: string;
  maxConcurrency?: number;
  multimodalModels?: readonly string[];
  weight?: number;
}

export interface UpstreamPoolOptions {
  members: PoolMemberConfig[];
  /** Builds engine + health check for an upstream given by address (`replaceUpstreams`). */
  connect?: (spec: UpstreamSpec) => PoolMemberConfig;
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
  /** Slots per upstream when its config names none. */
  defaultMaxConcurrency?: number;
  /** Requests that may wait for a slot when every usable upstream is full; past it: rejected at once. */
  maxQueue?: number;
  /** A queued request is rejected after waiting this long (or at its own deadline, if sooner). */
  queueTimeoutMs?: number;
  observer?: PoolObserver;
  now?: () => number;
}

export const DEFAULT_MAX_CONCURRENCY = 256;
export const DEFAULT_MAX_QUEUE = 1024;
export const DEFAULT_QUEUE_TIMEOUT_MS = 10_000;
/** Bounds of the retry-after hint a rejected request carries. */
export const MIN_RETRY_AFTER_MS = 100;
export const MAX_RETRY_AFTER_MS = 30_000;
/** Before any request finished, a slot is assumed to be held this long. */
const INITIAL_SLOT_MS = 1_000;
const SLOT_EWMA_WEIGHT = 0.1;

/** No upstream can take the request (all down, open or already tried). Looks like a 503 to the caller. */
export class NoUpstreamAvailableError extends Error {
  override readonly name = 'NoUpstreamAvailableError';
  readonly status = 503;
}

/** The request needs something no upstream offers (images to a text-only model). */
export class UnsupportedRequestError extends Error {
  override readonly name = 'UnsupportedRequestError';
}

/** First token did not arrive within the configured time. */
export class FirstTokenTimeoutError extends Error {
  override readonly name = 'FirstTokenTimeoutError';
}

/**
 * An event as the pool yields it. The first event of a stream names the upstream serving it;
 * later events come from the same upstream (no retry after the first token) and are passed
 * through untouched, so the pool adds no per-token step of its own.
 */
export type PoolEvent = GenerateEvent & { upstream?: string };

interface Member {
  name: string;
  url: string | undefined;
  engine: ChatEngine;
  healthCheck: () => Promise<HealthReport | void>;
  breaker: CircuitBreaker;
  outstanding: number;
  healthy: boolean;
  maxConcurrency: number;
  weight: number;
  multimodal: ReadonlySet<string>;
  /** From the last health check; undefined = not known yet (every model is assumed served). */
  models: ReadonlySet<string> | undefined;
  removed: boolean;
}

/** What one request needs from an upstream. */
interface Need {
  model: string | undefined;
  images: boolean;
  exclude: ReadonlySet<string>;
}

interface Waiter {
  need: Need;
  enqueuedAt: number;
  grant(member: Member): void;
  fail(err: Error): void;
}

const HTTP_TOO_MANY_REQUESTS = 429;
const HTTP_REQUEST_TIMEOUT = 408;

function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const s = (err as { status?: unknown }).status;
  return typeof s === 'number' ? s : undefined;
}

function codeOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * A 4xx other than 408/429 is about the request (bad model, bad body): another upstream
 * would say the same, and the upstream is healthy, so neither retry nor count it.
 */
function isRequestError(err: unknown): boolean {
  const status = statusOf(err);
  return status !== undefined && status >= 400 && status < 500 && status !== HTTP_TOO_MANY_REQUESTS && status !== HTTP_REQUEST_TIMEOUT;
}

export function causeOf(err: unknown): UpstreamErrorCause {
  if (err instanceof FirstTokenTimeoutError) return 'ttft_timeout';
  const status = statusOf(err);
  if (status === HTTP_TOO_MANY_REQUESTS) return 'http_429';
  if (status !== undefined && status >= 500) return 'http_5xx';
  if (codeOf(err) === 'ECONNREFUSED') return 'refused';
  return 'network';
}

export interface PoolSnapshotEntry {
  name: string;
  outstanding: number;
  maxConcurrency: number;
  healthy: boolean;
  breaker: BreakerState;
  models?: string[];
  multimodalModels: string[];
}

export interface UpstreamChange {
  added: string[];
  removed: string[];
  kept: string[];
}

/** Tags an engine's (fresh) event with the member that produced it; no copy. */
function served(event: GenerateEvent, upstream: string): PoolEvent {
  const tagged = event as PoolEvent;
  tagged.upstream = upstream;
  return tagged;
}

/**
 * The model to send upstream: the base model's promoted adapter when some upstream has it
 * loaded (its /v1/models lists it), else the model as asked. A request that names an adapter
 * or a model without a default adapter is untouched.
 */
export function modelToServe(
  requested: string | undefined,
  defaults: ReadonlyMap<string, string>,
  served: Iterable<ReadonlySet<string> | undefined>,
): string | undefined {
  const adapter = requested === undefined ? undefined : defaults.get(requested);
  if (adapter === undefined) return requested;
  for (const models of served) if (models?.has(adapter)) return adapter;
  return requested;
}

/** Least outstanding, scaled by weight: a weight-2 upstream takes twice the requests of a weight-1 one. */
export function loadScore(outstanding: number, weight: number): number {
  return (outstanding + 1) / weight;
}

/** A member that left the pool and has nothing in flight closes its idle keep-alive sockets. */
function dispose(m: Member): void {
  (m.engine as { close?: () => void }).close?.();
}

function weightOf(config: PoolMemberConfig): number {
  const weight = config.weight ?? 1;
  if (!Number.isFinite(weight) || weight <= 0) throw new RangeError(`${config.name}: weight must be a positive number, got ${weight}`);
  return weight;
}

/** host:port of an upstream: short, unique within a pool, and safe as a metric label. */
export function upstreamLabel(url: string): string {
  return new URL(url).host;
}

/**
 * OpenAI-compatible upstreams behind one engine: least outstanding requests, session
 * affinity (a conversation returns to the server holding its prefix cache while that server
 * is usable), a slot limit per upstream with one bounded FIFO queue in front of the pool, a
 * breaker per upstream, active health checks, and retry on another upstream only before the
 * first token, so no text is ever sent twice. The member list can be replaced at runtime.
 */
export class UpstreamPool {
  private members: Member[] = [];
  /** Insertion-ordered, so the first key is the least recently used session. */
  private readonly affinity = new Map<string, string>();
  private readonly waiters: Waiter[] = [];
  private rotation = 0;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private slotMs = INITIAL_SLOT_MS;
  private defaultAdapters: ReadonlyMap<string, string> = new Map();
  private readonly now: () => number;

  constructor(private readonly opts: UpstreamPoolOptions) {
    this.now = opts.now ?? Date.now;
    this.replaceMembers(opts.members);
  }

  get size(): number {
    return this.members.length;
  }

  get queued(): number {
    return this.waiters.length;
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

  /** Nest calls this on shutdown. */
  onModuleDestroy(): void {
    this.stop();
  }

  /**
   * Replaces the upstream list (config reload, registry watch). A member whose name and URL
   * stay keeps its breaker, health, served models and in-flight count; its slot limit and
   * multimodal labels take the new values. A removed member takes no new requests; its
   * in-flight streams finish where they are.
   */
  replaceUpstreams(specs: readonly UpstreamSpec[]): UpstreamChange {
    const connect = this.opts.connect;
    if (!connect) throw new Error('UpstreamPool: replaceUpstreams needs the `connect` option');
    return this.replaceMembers(
      specs.map((spec) => {
        const name = spec.name ?? upstreamLabel(spec.url);
        const kept = this.members.find((m) => m.name === name && m.url === spec.url);
        // A kept upstream keeps its engine (and its keep-alive connections).
        if (kept) return { ...this.configOf(kept), maxConcurrency: spec.maxConcurrency, multimodalModels: spec.multimodalModels, weight: spec.weight };
        return { ...connect({ ...spec, name }), url: spec.url };
      }),
    );
  }

  /** `replaceUpstreams` for members whose engines are already built (tests, custom engines). */
  replaceMembers(configs: readonly PoolMemberConfig[]): UpstreamChange {
    const names = new Set(configs.map((m) => m.name));
    if (names.size !== configs.length) throw new RangeError('UpstreamPool upstream names must be unique');
    const change: UpstreamChange = { added: [], removed: [], kept: [] };
    const next = configs.map((config) => {
      const old = this.members.find((m) => m.name === config.name && m.url === config.url && m.engine === config.engine);
      if (old) {
        old.maxConcurrency = this.limitOf(config);
        old.weight = weightOf(config);
        old.multimodal = new Set(config.multimodalModels ?? []);
        old.healthCheck = config.healthCheck;
        change.kept.push(old.name);
        return old;
      }
      change.added.push(config.name);
      return this.newMember(config);
    });
    for (const old of this.members) {
      if (next.includes(old)) continue;
      old.removed = true;
      change.removed.push(old.name);
      if (old.outstanding === 0) dispose(old);
      if (!names.has(old.name)) this.opts.observer?.upstreamRemoved?.(old.name);
    }
    this.members = next;
    this.settleQueue();
    return change;
  }

  /**
   * Base model → promoted adapter (the registry's watch). The registry loads an adapter before
   * promoting it, so the served-model lists are refreshed at once rather than at the next check.
   */
  setDefaultAdapters(defaults: Readonly<Record<string, string>>): void {
    this.defaultAdapters = new Map(Object.entries(defaults));
    void this.checkHealth();
  }

  /** The model a request for `requested` is sent upstream as (see `modelToServe`). */
  modelFor(requested: string | undefined): string | undefined {
    const served = this.members.filter((m) => this.eligible(m)).map((m) => m.models);
    return modelToServe(requested, this.defaultAdapters, served);
  }

  /** One round of active checks; a failing upstream stops receiving new requests until it passes. */
  async checkHealth(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await Promise.all(this.members.map((m) => this.checkMember(m)));
    } finally {
      this.checking = false;
    }
    this.settleQueue();
  }

  /** The upstream a session is pinned to, if it is still remembered. */
  affinityOf(sessionId: string): string | undefined {
    return this.affinity.get(sessionId);
  }

  snapshot(): PoolSnapshotEntry[] {
    return this.members.map((m) => ({
      name: m.name,
      outstanding: m.outstanding,
      maxConcurrency: m.maxConcurrency,
      healthy: m.healthy,
      breaker: m.breaker.current,
      models: m.models ? [...m.models] : undefined,
      multimodalModels: [...m.multimodal],
    }));
  }

  /**
   * The upstream for the next attempt, without taking a slot: the session's previous upstream
   * when it is usable and has room, else the one with the fewest outstanding requests (ties
   * rotate, so idle upstreams share load).
   */
  pick(sessionId: string | undefined, exclude: ReadonlySet<string> = new Set()): string | undefined {
    return this.choose(sessionId, { model: undefined, images: false, exclude })?.name;
  }

  /** A ChatEngine bound to one session, for the engine router. */
  engineFor(sessionId: string | undefined): ChatEngine {
    return {
      name: this.members[0]?.engine.name ?? 'openai-compatible',
      generate: (input) => this.generate(input, sessionId),
      summarize: (input) => this.summarize(input, sessionId),
      listModels: () => this.listModels(),
    };
  }

  async *generate(input: GenerateInput, sessionId?: string): AsyncGenerator<PoolEvent> {
    const tried = new Set<string>();
    const model = this.modelFor(input.model);
    const need: Need = { model, images: hasImageParts(input.messages as ProxyChatMessage[]), exclude: tried };
    this.checkSupported(need);
    let lastError: unknown;
    for (let attempt = 0; attempt < this.opts.maxAttempts; attempt++) {
      input.signal?.throwIfAborted();
      const member = await this.acquire(sessionId, need, input.signal);
      if (member === undefined) break;
      const name = member.name;
      tried.add(name);
      const attemptAbort = new AbortController();
      const onCallerAbort = () => attemptAbort.abort(input.signal?.reason);
      input.signal?.addEventListener('abort', onCallerAbort, { once: true });
      const heldSince = this.now();
      let startedText = false;
      let settled = false;
      let completed = false;
      const iterator = member.engine.generate({ ...input, model, signal: attemptAbort.signal })[Symbol.asyncIterator]();
      try {
        const first = await this.firstEvent(iterator, attemptAbort);
        if (first === undefined) throw new Error('upstream stream ended without any event');
        startedText = true;
        yield served(first, name);
        // From here on text has reached the caller: a failure ends the request, never retries.
        // Delegating (rather than awaiting and re-yielding each event) saves a step per token.
        yield* { [Symbol.asyncIterator]: () => iterator };
        completed = true;
        settled = true;
        member.breaker.onSuccess();
        return;
      } catch (err) {
        if (input.signal?.aborted) {
          this.opts.observer?.attemptFailed(name, 'cancelled');
          throw err;
        }
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
        // A stream that ended normally has nothing left to stop (and an abort costs a DOMException).
        if (!completed) attemptAbort.abort();
        void Promise.resolve(iterator.return?.()).catch(() => undefined);
        input.signal?.removeEventListener('abort', onCallerAbort);
        if (!settled) member.breaker.onAbandoned();
        this.release(member, heldSince);
      }
    }
    throw this.exhausted(tried, lastError, need);
  }

  async summarize(input: SummarizeInput, sessionId?: string): Promise<string> {
    // A summary is one JSON answer: nothing reached the caller yet, so every failure may retry.
    const tried = new Set<string>();
    const need: Need = { model: undefined, images: false, exclude: tried };
    let lastError: unknown;
    for (let attempt = 0; attempt < this.opts.maxAttempts; attempt++) {
      input.signal?.throwIfAborted();
      const member = await this.acquire(sessionId, need, input.signal);
      if (member === undefined) break;
      tried.add(member.name);
      const heldSince = this.now();
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
        this.opts.observer?.attemptFailed(member.name, causeOf(err));
        lastError = err;
      } finally {
        this.release(member, heldSince);
      }
    }
    throw this.exhausted(tried, lastError, need);
  }

  /** The models of the first upstream that answers, healthy ones first. */
  async listModels(): Promise<string[]> {
    const ordered = [...this.members].sort((a, b) => Number(b.healthy) - Number(a.healthy));
    let lastError: unknown = new NoUpstreamAvailableError('the upstream pool is empty');
    for (const m of ordered) {
      try {
        return await m.engine.listModels();
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }

  /** The hint a rejected request carries: roughly when a slot should be free again. */
  retryAfterMs(): number {
    const capacity = this.members.reduce((n, m) => n + (this.eligible(m) ? m.maxConcurrency : 0), 0);
    const estimate = (this.slotMs * (this.waiters.length + 1)) / Math.max(1, capacity);
    return Math.round(Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, estimate)));
  }

  /**
   * A slot on a usable upstream: at once when one has room and nobody waits before us, else
   * after a FIFO wait. Undefined when no upstream could ever take the request.
   */
  private async acquire(sessionId: string | undefined, need: Need, signal: AbortSignal | undefined): Promise<Member | undefined> {
    if (!this.members.some((m) => this.eligible(m, need))) return undefined;
    if (this.waiters.length === 0) {
      const member = this.choose(sessionId, need);
      if (member) {
        this.take(member);
        this.opts.observer?.queueWaited?.(0);
        return member;
      }
    }
    const maxQueue = this.opts.maxQueue ?? DEFAULT_MAX_QUEUE;
    if (this.waiters.length >= maxQueue) {
      this.opts.observer?.attemptFailed('none', 'queue_full');
      throw new AdmissionRejectedError(
        `every upstream is at its concurrency limit and ${this.waiters.length} requests are queued (max ${maxQueue}); retry later`,
        this.retryAfterMs(),
      );
    }
    const member = await this.wait(need, signal);
    if (sessionId) this.remember(sessionId, member.name);
    return member;
  }

  private wait(need: Need, signal: AbortSignal | undefined): Promise<Member> {
    const timeoutMs = this.opts.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS;
    return new Promise<Member>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        this.opts.observer?.queueChanged?.(this.waiters.length);
      };
      const onAbort = () => {
        cleanup();
        reject(new AdmissionAbortedError('request cancelled while queued for an upstream'));
      };
      const timer = setTimeout(() => {
        cleanup();
        this.opts.observer?.attemptFailed('none', 'queue_timeout');
        reject(new AdmissionRejectedError(`no upstream slot became free within ${timeoutMs} ms; retry later`, this.retryAfterMs()));
      }, timeoutMs);
      const waiter: Waiter = {
        need,
        enqueuedAt: this.now(),
        grant: (member) => {
          cleanup();
          this.opts.observer?.queueWaited?.((this.now() - waiter.enqueuedAt) / 1000);
          resolve(member);
        },
        fail: (err) => {
          cleanup();
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.opts.observer?.queueChanged?.(this.waiters.length);
    });
  }

  /**
   * Hands free slots to waiters in FIFO order (a waiter skips an upstream it cannot use), and
   * fails waiters that no upstream could serve any more.
   */
  private settleQueue(): void {
    for (let i = 0; i < this.waiters.length; ) {
      const waiter = this.waiters[i];
      const member = this.choose(undefined, waiter.need);
      if (member) {
        this.take(member);
        waiter.grant(member);
        continue;
      }
      if (!this.members.some((m) => this.eligible(m, waiter.need))) {
        waiter.fail(this.exhausted(waiter.need.exclude, undefined, waiter.need));
        continue;
      }
      i++;
    }
  }

  private choose(sessionId: string | undefined, need: Need): Member | undefined {
    const usable = (m: Member) => this.eligible(m, need) && m.outstanding < m.maxConcurrency;
    if (sessionId) {
      const previous = this.affinity.get(sessionId);
      const member = previous === undefined ? undefined : this.members.find((m) => m.name === previous);
      if (member && usable(member)) {
        this.remember(sessionId, member.name);
        return member;
      }
    }
    const n = this.members.length;
    const start = n === 0 ? 0 : this.rotation++ % n;
    let best: Member | undefined;
    for (let i = 0; i < n; i++) {
      const m = this.members[(start + i) % n];
      if (usable(m) && (!best || loadScore(m.outstanding, m.weight) < loadScore(best.outstanding, best.weight))) best = m;
    }
    if (best && sessionId) this.remember(sessionId, best.name);
    return best;
  }

  /** Could serve the request if it had room. */
  private eligible(m: Member, need?: Need): boolean {
    if (m.removed || !m.healthy || !m.breaker.canAttempt()) return false;
    if (!need) return true;
    if (need.exclude.has(m.name)) return false;
    if (need.model && m.models && !m.models.has(need.model)) return false;
    return !need.images || this.readsImages(m, need.model);
  }

  private readsImages(m: Member, model: string | undefined): boolean {
    return m.multimodal.has('*') || (model !== undefined && m.multimodal.has(model));
  }

  /** Images to a model no member labels multimodal: no retry or wait can help, say so at once. */
  private checkSupported(need: Need): void {
    if (!need.images || this.members.length === 0) return;
    if (this.members.some((m) => !m.removed && this.readsImages(m, need.model))) return;
    const labelled = this.members
      .filter((m) => m.multimodal.size > 0)
      .map((m) => `${m.name} (${[...m.multimodal].join(', ')})`);
    throw new UnsupportedRequestError(
      `the request has image content parts but no upstream is labelled multimodal for model "${need.model ?? '(default)'}"` +
        (labelled.length > 0 ? `; multimodal upstreams: ${labelled.join('; ')}` : '; no upstream is labelled multimodal'),
    );
  }

  private async checkMember(m: Member): Promise<void> {
    try {
      const report = await m.healthCheck();
      if (report?.models) m.models = new Set(report.models);
      m.healthy = true;
    } catch {
      if (m.healthy) this.opts.observer?.attemptFailed(m.name, 'health_check');
      m.healthy = false;
    }
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

  private exhausted(tried: ReadonlySet<string>, lastError: unknown, need: Need): Error {
    if (lastError !== undefined) {
      // Keep the upstream's own status so the use case can classify it (e.g. 503 → UNAVAILABLE).
      return lastError instanceof Error ? lastError : new Error(String(lastError));
    }
    this.opts.observer?.attemptFailed('none', 'no_upstream');
    const states = this.snapshot()
      .map((s) => {
        const serves = need.model && s.models && !s.models.includes(need.model) ? `, does not serve ${need.model}` : '';
        return `${s.name}: ${s.healthy ? 'healthy' : 'unhealthy'}, breaker ${s.breaker}${serves}${tried.has(s.name) ? ', tried' : ''}`;
      })
      .join('; ');
    return new NoUpstreamAvailableError(`no upstream available (${states || 'the upstream pool is empty'})`);
  }

  private newMember(config: PoolMemberConfig): Member {
    const { name } = config;
    const member: Member = {
      name,
      url: config.url,
      engine: config.engine,
      healthCheck: config.healthCheck,
      outstanding: 0,
      healthy: true,
      maxConcurrency: this.limitOf(config),
      weight: weightOf(config),
      multimodal: new Set(config.multimodalModels ?? []),
      models: undefined,
      removed: false,
      breaker: new CircuitBreaker({
        failureThreshold: this.opts.breakerFailures,
        cooldownMs: this.opts.breakerCooldownMs,
        now: this.opts.now,
        onStateChange: (state) => {
          if (!member.removed) this.opts.observer?.breakerChanged(name, state);
        },
      }),
    };
    this.opts.observer?.breakerChanged(name, 'closed');
    this.opts.observer?.inFlightChanged(name, 0);
    return member;
  }

  private configOf(m: Member): PoolMemberConfig {
    return { name: m.name, url: m.url, engine: m.engine, healthCheck: m.healthCheck };
  }

  private limitOf(config: PoolMemberConfig): number {
    const limit = config.maxConcurrency ?? this.opts.defaultMaxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`${config.name}: maxConcurrency must be a positive integer, got ${limit}`);
    return limit;
  }

  private take(m: Member): void {
    m.breaker.onAttempt();
    m.outstanding++;
    if (!m.removed) this.opts.observer?.inFlightChanged(m.name, m.outstanding);
  }

  private release(m: Member, heldSince: number): void {
    m.outstanding--;
    this.slotMs += SLOT_EWMA_WEIGHT * (this.now() - heldSince - this.slotMs);
    if (!m.removed) this.opts.observer?.inFlightChanged(m.name, m.outstanding);
    else if (m.outstanding === 0) dispose(m);
    if (this.waiters.length > 0) this.settleQueue();
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
