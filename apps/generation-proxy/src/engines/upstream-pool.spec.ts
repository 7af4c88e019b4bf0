import type { ChatEngine, ChatMessage, GenerateEvent, GenerateInput } from '@ragmesh/llm';
import { AdmissionRejectedError } from '../generation/admission-control';
import { BreakerState } from './circuit-breaker';
import {
  loadScore,
  MIN_RETRY_AFTER_MS,
  modelToServe,
  NoUpstreamAvailableError,
  PoolObserver,
  UnsupportedRequestError,
  UpstreamErrorCause,
  UpstreamPool,
  UpstreamPoolOptions,
} from './upstream-pool';

const usage = { promptTokens: 1, completionTokens: 2, totalTokens: 3 };
const done: GenerateEvent = { type: 'done', finishReason: 'stop', usage, model: 'm' };

type Script = (input: GenerateInput) => AsyncGenerator<GenerateEvent>;

class ScriptedEngine implements ChatEngine {
  readonly name = 'openai-compatible';
  calls = 0;
  constructor(public script: Script) {}
  generate(input: GenerateInput): AsyncIterable<GenerateEvent> {
    this.calls++;
    return this.script(input);
  }
  summarize(): Promise<string> {
    return Promise.resolve('summary');
  }
  listModels(): Promise<string[]> {
    return Promise.resolve(['m']);
  }
}

const ok = (text = 'hello world'): Script =>
  async function* () {
    for (const word of text.split(' ')) yield { type: 'delta', text: word };
    yield done;
  };

const httpError = (status: number) => Object.assign(new Error(`HTTP ${status}`), { status });

const failsBeforeFirstToken = (status: number): Script =>
  async function* () {
    throw httpError(status);
  };

const diesAfter = (words: string[]): Script =>
  async function* () {
    for (const w of words) yield { type: 'delta', text: w };
    throw new Error('socket hang up');
  };

const hangs: Script = async function* (input) {
  await new Promise((_, reject) => input.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
  yield done;
};

/** Never finishes until released, so outstanding counts can be observed. */
function gated(): { script: Script; release: () => void } {
  let release = () => undefined as void;
  const gate = new Promise<void>((r) => (release = r));
  return {
    release: () => release(),
    script: async function* () {
      yield { type: 'delta', text: 'x' };
      await gate;
      yield done;
    },
  };
}

class RecordingObserver implements PoolObserver {
  errors: [string, UpstreamErrorCause][] = [];
  breakers: [string, BreakerState][] = [];
  inFlightChanged(): void {
    // in-flight values are asserted through snapshot()
  }
  breakerChanged(upstream: string, state: BreakerState): void {
    this.breakers.push([upstream, state]);
  }
  attemptFailed(upstream: string, cause: UpstreamErrorCause): void {
    this.errors.push([upstream, cause]);
  }
}

function pool(engines: Record<string, ScriptedEngine>, over: Partial<UpstreamPoolOptions> = {}) {
  const observer = new RecordingObserver();
  const health: Record<string, boolean> = Object.fromEntries(Object.keys(engines).map((k) => [k, true]));
  const p = new UpstreamPool({
    members: Object.entries(engines).map(([name, engine]) => ({
      name,
      engine,
      healthCheck: () => (health[name] ? Promise.resolve() : Promise.reject(new Error('down'))),
    })),
    ttftTimeoutMs: 1_000,
    maxAttempts: 2,
    breakerFailures: 2,
    breakerCooldownMs: 60_000,
    affinityMaxSessions: 100,
    healthIntervalMs: 0,
    observer,
    ...over,
  });
  return { p, observer, health };
}

async function collect(iterable: AsyncIterable<GenerateEvent>): Promise<{ text: string; error?: Error }> {
  let text = '';
  try {
    for await (const e of iterable) if (e.type === 'delta') text += e.text;
    return { text };
  } catch (error) {
    return { text, error: error as Error };
  }
}

const input: GenerateInput = { messages: [{ role: 'user', content: 'q' }], context: [] };

describe('UpstreamPool', () => {
  it('picks the upstream with the fewest outstanding requests', async () => {
    const ga = gated();
    const gb = gated();
    const { p } = pool({ a: new ScriptedEngine(ga.script), b: new ScriptedEngine(gb.script) });
    // Hold one request open on whichever upstream gets it.
    const first = p.generate(input)[Symbol.asyncIterator]();
    await first.next();
    const busy = p.snapshot().find((s) => s.outstanding === 1)?.name;
    expect(busy).toBeDefined();
    for (let i = 0; i < 5; i++) expect(p.pick(undefined)).not.toBe(busy);
    ga.release();
    gb.release();
    await collect({ [Symbol.asyncIterator]: () => first });
    expect(p.snapshot().map((s) => s.outstanding)).toEqual([0, 0]);
  });

  it('spreads idle traffic across upstreams', () => {
    const { p } = pool({ a: new ScriptedEngine(ok()), b: new ScriptedEngine(ok()) });
    const picks = Array.from({ length: 10 }, () => p.pick(undefined));
    expect(new Set(picks)).toEqual(new Set(['a', 'b']));
  });

  it('keeps a session on its upstream while that upstream is usable, then moves it', async () => {
    const { p, health } = pool({ a: new ScriptedEngine(ok()), b: new ScriptedEngine(ok()) });
    const home = p.pick('s1');
    for (let i = 0; i < 10; i++) expect(p.pick('s1')).toBe(home);
    health[home as string] = false;
    await p.checkHealth();
    const other = p.pick('s1');
    expect(other).not.toBe(home);
    health[home as string] = true;
    await p.checkHealth();
    // The session now lives on the new upstream (its prefix cache is there).
    expect(p.pick('s1')).toBe(other);
  });

  it('forgets the least recently used session past the bound', () => {
    const { p } = pool({ a: new ScriptedEngine(ok()), b: new ScriptedEngine(ok()) }, { affinityMaxSessions: 2 });
    p.pick('s1');
    p.pick('s2');
    p.pick('s1'); // s1 used again: s2 is now the oldest
    p.pick('s3');
    expect(p.affinityOf('s1')).toBeDefined();
    expect(p.affinityOf('s2')).toBeUndefined();
    expect(p.affinityOf('s3')).toBeDefined();
  });

  it('retries on another upstream when the first fails before the first token', async () => {
    const engines = { a: new ScriptedEngine(failsBeforeFirstToken(503)), b: new ScriptedEngine(failsBeforeFirstToken(503)) };
    const { p, observer } = pool(engines);
    const home = p.pick('s') as 'a' | 'b';
    const other = home === 'a' ? 'b' : 'a';
    engines[other].script = ok('from other');
    const result = await collect(p.generate(input, 's'));
    expect(result).toEqual({ text: 'fromother' });
    expect(engines[home].calls).toBe(1);
    expect(observer.errors).toEqual([[home, 'http_5xx']]);
  });

  it('never retries after the first token: the error surfaces and no text repeats', async () => {
    const engines = { a: new ScriptedEngine(diesAfter(['one', 'two'])), b: new ScriptedEngine(diesAfter(['one', 'two'])) };
    const { p, observer } = pool(engines);
    const result = await collect(p.generate(input));
    expect(result.text).toBe('onetwo');
    expect(result.error?.message).toBe('socket hang up');
    expect(engines.a.calls + engines.b.calls).toBe(1);
    expect(observer.errors.map((e) => e[1])).toEqual(['mid_stream']);
  });

  it('does not retry or count request errors (4xx)', async () => {
    const engines = { a: new ScriptedEngine(failsBeforeFirstToken(404)), b: new ScriptedEngine(failsBeforeFirstToken(404)) };
    const { p, observer } = pool(engines);
    const result = await collect(p.generate(input));
    expect(result.error?.message).toBe('HTTP 404');
    expect(engines.a.calls + engines.b.calls).toBe(1);
    expect(observer.errors).toEqual([]);
  });

  it('a first-token timeout trips the breaker at once and the request moves on', async () => {
    const engines = { a: new ScriptedEngine(hangs), b: new ScriptedEngine(hangs) };
    const { p, observer } = pool(engines, { ttftTimeoutMs: 50 });
    const home = p.pick('s') as 'a' | 'b';
    const other = home === 'a' ? 'b' : 'a';
    engines[other].script = ok('fine');
    expect(await collect(p.generate(input, 's'))).toEqual({ text: 'fine' });
    expect(observer.errors).toEqual([[home, 'ttft_timeout']]);
    expect(observer.breakers).toContainEqual([home, 'open']);
    // An open breaker takes the upstream out of rotation, affinity included.
    for (let i = 0; i < 4; i++) expect(p.pick(undefined)).toBe(other);
  });

  it('opens the breaker after consecutive failures and fails fast when nothing is left', async () => {
    const engines = { a: new ScriptedEngine(failsBeforeFirstToken(503)) };
    const { p } = pool(engines, { maxAttempts: 1 });
    await collect(p.generate(input));
    await collect(p.generate(input));
    expect(p.snapshot()[0].breaker).toBe('open');
    const result = await collect(p.generate(input));
    expect(result.error).toBeInstanceOf(NoUpstreamAvailableError);
    expect(result.error?.message).toMatch(/a: healthy, breaker open/u);
    expect(engines.a.calls).toBe(2);
  });

  it('gives the in-flight slot back when the consumer stops early', async () => {
    const g = gated();
    const { p } = pool({ a: new ScriptedEngine(g.script) });
    const it = p.generate(input)[Symbol.asyncIterator]();
    await it.next();
    expect(p.snapshot()[0].outstanding).toBe(1);
    await it.return(undefined);
    expect(p.snapshot()[0].outstanding).toBe(0);
  });
});

describe('UpstreamPool admission (slots per upstream, one bounded FIFO queue)', () => {
  const gatedEngine = () => {
    const g = gated();
    return { engine: new ScriptedEngine(g.script), release: g.release };
  };

  it('queues past each upstream limit, hands slots over in FIFO order, and rejects past the queue with a retry hint', async () => {
    const first = gatedEngine();
    const { p, observer } = pool({ a: first.engine }, { defaultMaxConcurrency: 1, maxQueue: 2, queueTimeoutMs: 5_000 });
    const running = p.generate(input)[Symbol.asyncIterator]();
    await running.next();
    const order: string[] = [];
    first.engine.script = ok('second');
    const second = collect(p.generate(input)).then((r) => order.push(r.text));
    const third = collect(p.generate(input)).then((r) => order.push(r.text));
    await new Promise((r) => setImmediate(r));
    expect(p.queued).toBe(2);
    const rejected = await collect(p.generate(input));
    expect(rejected.error).toBeInstanceOf(AdmissionRejectedError);
    expect((rejected.error as AdmissionRejectedError).retryAfterMs).toBeGreaterThanOrEqual(MIN_RETRY_AFTER_MS);
    expect(observer.errors).toContainEqual(['none', 'queue_full']);
    first.release();
    await collect({ [Symbol.asyncIterator]: () => running });
    await Promise.all([second, third]);
    expect(order).toEqual(['second', 'second']);
    expect(p.queued).toBe(0);
    expect(p.snapshot()[0].outstanding).toBe(0);
  });

  it('a queued request gives up after queueTimeoutMs, and one whose caller cancels leaves the queue at once', async () => {
    const held = gatedEngine();
    const { p, observer } = pool({ a: held.engine }, { defaultMaxConcurrency: 1, queueTimeoutMs: 30 });
    const running = p.generate(input)[Symbol.asyncIterator]();
    await running.next();
    const timedOut = await collect(p.generate(input));
    expect(timedOut.error?.message).toMatch(/no upstream slot became free within 30 ms/u);
    expect(observer.errors).toContainEqual(['none', 'queue_timeout']);
    const abort = new AbortController();
    const cancelled = collect(p.generate({ ...input, signal: abort.signal }));
    await new Promise((r) => setImmediate(r));
    expect(p.queued).toBe(1);
    abort.abort();
    expect((await cancelled).error?.name).toBe('AdmissionAbortedError');
    expect(p.queued).toBe(0);
    held.release();
    await collect({ [Symbol.asyncIterator]: () => running });
  });

  it('fails queued requests at once when no upstream could serve them any more', async () => {
    const held = gatedEngine();
    const { p, health } = pool({ a: held.engine }, { defaultMaxConcurrency: 1 });
    const running = p.generate(input)[Symbol.asyncIterator]();
    await running.next();
    const queued = collect(p.generate(input));
    await new Promise((r) => setImmediate(r));
    health.a = false;
    await p.checkHealth();
    expect((await queued).error).toBeInstanceOf(NoUpstreamAvailableError);
    held.release();
    await collect({ [Symbol.asyncIterator]: () => running });
  });

  it('replaceMembers keeps the state of members that stay and drops the others', async () => {
    const a = new ScriptedEngine(failsBeforeFirstToken(503));
    const b = new ScriptedEngine(ok('from b'));
    const { p } = pool({ a }, { maxAttempts: 1, breakerFailures: 1 });
    await collect(p.generate(input));
    expect(p.snapshot()[0].breaker).toBe('open');
    const aConfig = { name: 'a', engine: a, healthCheck: () => Promise.resolve() };
    const change = p.replaceMembers([aConfig, { name: 'b', engine: b, healthCheck: () => Promise.resolve(), maxConcurrency: 3 }]);
    expect(change).toEqual({ added: ['b'], removed: [], kept: ['a'] });
    expect(p.snapshot().map((s) => [s.name, s.breaker, s.maxConcurrency])).toEqual([
      ['a', 'open', 256],
      ['b', 'closed', 3],
    ]);
    expect(await collect(p.generate(input))).toEqual({ text: 'fromb' });
    expect(p.replaceMembers([])).toEqual({ added: [], removed: ['a', 'b'], kept: [] });
    expect((await collect(p.generate(input))).error).toBeInstanceOf(NoUpstreamAvailableError);
  });

  it('routes image requests only to members labelled multimodal for the model, and refuses them when none is', async () => {
    const text = new ScriptedEngine(ok('text'));
    const vision = new ScriptedEngine(ok('vision'));
    const { p } = pool({ text, vision });
    p.replaceMembers([
      { name: 'text', engine: text, healthCheck: () => Promise.resolve() },
      { name: 'vision', engine: vision, healthCheck: () => Promise.resolve(), multimodalModels: ['qwen-vl'] },
    ]);
    const withImage: GenerateInput = {
      model: 'qwen-vl',
      context: [],
      messages: [{ role: 'user', content: 'what is this', parts: [{ type: 'image_url', imageUrl: 'https://example.com/cat.png' }] } as ChatMessage],
    };
    for (let i = 0; i < 4; i++) expect(await collect(p.generate(withImage))).toEqual({ text: 'vision' });
    expect(text.calls).toBe(0);
    const refused = await collect(p.generate({ ...withImage, model: 'llama-8b' }));
    expect(refused.error).toBeInstanceOf(UnsupportedRequestError);
    expect(refused.error?.message).toMatch(/no upstream is labelled multimodal for model "llama-8b"; multimodal upstreams: vision \(qwen-vl\)/u);
  });
});

describe('UpstreamPool routing by served model (from the health checks)', () => {
  it('sends a model only to members whose /v1/models lists it, once known', async () => {
    const qwen = new ScriptedEngine(ok('qwen'));
    const llama = new ScriptedEngine(ok('llama'));
    const { p } = pool({ qwen, llama });
    p.replaceMembers([
      { name: 'qwen', engine: qwen, healthCheck: () => Promise.resolve({ models: ['qwen-7b'] }) },
      { name: 'llama', engine: llama, healthCheck: () => Promise.resolve({ models: ['llama-8b'] }) },
    ]);
    await p.checkHealth();
    for (let i = 0; i < 4; i++) expect(await collect(p.generate({ ...input, model: 'llama-8b' }))).toEqual({ text: 'llama' });
    expect(qwen.calls).toBe(0);
    const unknown = await collect(p.generate({ ...input, model: 'gpt-x' }));
    expect(unknown.error).toBeInstanceOf(NoUpstreamAvailableError);
    expect(unknown.error?.message).toMatch(/qwen: healthy, breaker closed, does not serve gpt-x/u);
  });
});

describe('UpstreamPool weights (least outstanding, scaled by weight)', () => {
  it('scores (in flight + 1) / weight', () => {
    expect(loadScore(0, 1)).toBe(1);
    expect(loadScore(2, 3)).toBe(1);
    expect(loadScore(1, 0.5)).toBe(4);
  });

  it('a weight-3 upstream holds three times the requests of a weight-1 one', async () => {
    const ga = gated();
    const gb = gated();
    const a = new ScriptedEngine(ga.script);
    const b = new ScriptedEngine(gb.script);
    const { p } = pool({ a, b });
    p.replaceMembers([
      { name: 'a', engine: a, healthCheck: () => Promise.resolve(), weight: 1 },
      { name: 'b', engine: b, healthCheck: () => Promise.resolve(), weight: 3 },
    ]);
    const held = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const it = p.generate(input)[Symbol.asyncIterator]();
        await it.next();
        return it;
      }),
    );
    expect(Object.fromEntries(p.snapshot().map((s) => [s.name, s.outstanding]))).toEqual({ a: 2, b: 6 });
    ga.release();
    gb.release();
    await Promise.all(held.map((it) => collect({ [Symbol.asyncIterator]: () => it })));
  });

  it('refuses a weight that is not a positive number', () => {
    const e = new ScriptedEngine(ok());
    expect(() => pool({ e }).p.replaceMembers([{ name: 'e', engine: e, healthCheck: () => Promise.resolve(), weight: 0 }])).toThrow(/weight must be a positive number/u);
  });
});

describe('UpstreamPool default adapters (promoted by the registry)', () => {
  const defaults = new Map([['qwen-7b', 'qwen-ft-v2']]);

  it('maps a base model to its promoted adapter only when some upstream has it loaded', () => {
    expect(modelToServe('qwen-7b', defaults, [new Set(['qwen-7b']), new Set(['qwen-7b', 'qwen-ft-v2'])])).toBe('qwen-ft-v2');
    expect(modelToServe('qwen-7b', defaults, [new Set(['qwen-7b', 'qwen-ft-v1']), undefined])).toBe('qwen-7b');
    expect(modelToServe('qwen-ft-v1', defaults, [new Set(['qwen-ft-v1', 'qwen-ft-v2'])])).toBe('qwen-ft-v1');
    expect(modelToServe('llama-8b', defaults, [new Set(['llama-8b', 'qwen-ft-v2'])])).toBe('llama-8b');
    expect(modelToServe(undefined, defaults, [new Set(['qwen-ft-v2'])])).toBeUndefined();
  });

  it('sends the adapter upstream and routes only to upstreams that have it; explicit names are untouched', async () => {
    const asked: (string | undefined)[] = [];
    const echo = (name: string): Script =>
      async function* (i) {
        asked.push(`${name}:${i.model}`);
        yield { type: 'delta', text: name };
        yield { ...done, model: i.model ?? '' };
      };
    const withAdapter = new ScriptedEngine(echo('a'));
    const baseOnly = new ScriptedEngine(echo('b'));
    const { p } = pool({ withAdapter, baseOnly });
    p.replaceMembers([
      { name: 'a', engine: withAdapter, healthCheck: () => Promise.resolve({ models: ['qwen-7b', 'qwen-ft-v1', 'qwen-ft-v2'] }) },
      { name: 'b', engine: baseOnly, healthCheck: () => Promise.resolve({ models: ['qwen-7b'] }) },
    ]);
    await p.checkHealth();
    const finalModel = async (model: string) => {
      let answered = '';
      for await (const e of p.generate({ ...input, model })) if (e.type === 'done') answered = e.model;
      return answered;
    };
    expect(await finalModel('qwen-7b')).toBe('qwen-7b');
    p.setDefaultAdapters({ 'qwen-7b': 'qwen-ft-v2' });
    for (let i = 0; i < 3; i++) expect(await finalModel('qwen-7b')).toBe('qwen-ft-v2');
    expect(await finalModel('qwen-ft-v1')).toBe('qwen-ft-v1');
    // Rollback: the earlier version answers.
    p.setDefaultAdapters({ 'qwen-7b': 'qwen-ft-v1' });
    expect(await finalModel('qwen-7b')).toBe('qwen-ft-v1');
    // Back to the bare base model.
    p.setDefaultAdapters({});
    asked.length = 0;
    expect(await finalModel('qwen-7b')).toBe('qwen-7b');
    expect(asked).toHaveLength(1);
    expect(baseOnly.calls + withAdapter.calls).toBe(7);
    expect(baseOnly.calls).toBeLessThanOrEqual(2);
  });

  it('falls back to the base model when no upstream has the adapter loaded', async () => {
    const seen: (string | undefined)[] = [];
    const e = new ScriptedEngine(async function* (i) {
      seen.push(i.model);
      yield { type: 'delta', text: 'x' };
      yield done;
    });
    const { p } = pool({ e });
    p.replaceMembers([{ name: 'e', engine: e, healthCheck: () => Promise.resolve({ models: ['qwen-7b'] }) }]);
    await p.checkHealth();
    p.setDefaultAdapters({ 'qwen-7b': 'qwen-ft-v3' });
    await collect(p.generate({ ...input, model: 'qwen-7b' }));
    expect(seen).toEqual(['qwen-7b']);
  });
});
