import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpError, readJson, sendError, sendJson } from './http';
import { loraRoutes } from './lora';
import type { FakeContext, FakeRoute } from './routes';
import { VllmMetrics } from './vllm-metrics';
import { embeddingRoutes } from './embeddings';

/**
 * A small OpenAI-compatible upstream for tests, benches and local runs: /v1/chat/completions
 * (JSON and real SSE with usage), /v1/models, /health, vLLM-named /metrics, and /fake/* to
 * read its counters and change its behaviour from another process. It notices client
 * disconnects mid-stream, so tests can prove cancellation reached it.
 */

export interface FakeMessage {
  role: string;
  content: string;
  /** Image parts the message carried (their URLs). */
  images?: string[];
}

export interface FakeOpenAiOptions {
  port?: number;
  host?: string;
  modelId?: string;
  /** Gap between tokens (vLLM's inter-token latency). */
  tokenDelayMs?: number;
  /** Extra wait before the first token (prefill); defaults to 0, so TTFT ≈ tokenDelayMs. */
  ttftMs?: number;
  /** When set, the reply is exactly this many tokens ("tok1 tok2 …") instead of `reply`. */
  replyTokens?: number;
  reply?: (messages: FakeMessage[]) => string;
  /** Failure mode of /v1/chat/completions; changeable at runtime with `setMode`. */
  mode?: FakeMode;
  /** Tokens sent before the socket is destroyed in `dieMidStream` mode. */
  dieAfterTokens?: number;
  /** Accepts image content parts (a vision model); otherwise 400, as vLLM answers for a text-only model. */
  multimodal?: boolean;
  /** Requests generated at once (vLLM's --max-num-seqs); later ones wait (vllm:num_requests_waiting). */
  maxNumSeqs?: number;
  /** KV-cache size in tokens: running requests' prompt + output tokens over it = kv_cache_usage_perc. */
  kvCacheTokens?: number;
  /** Ignores stream_options.include_usage (some OpenAI-compatible servers do): no usage chunk. */
  omitUsage?: boolean;
}

/**
 * - `ok`: answers normally.
 * - `refuse`: 503 at once (an overloaded or draining server).
 * - `hang`: accepts the request and never sends a byte.
 * - `dieMidStream`: streams `dieAfterTokens` tokens, then destroys the socket.
 */
export const FAKE_MODES = ['ok', 'refuse', 'hang', 'dieMidStream'] as const;
export type FakeMode = (typeof FAKE_MODES)[number];

/** What `setMode` and `setTiming` may change on a running server. */
export interface FakeRuntimeOptions {
  dieAfterTokens?: number;
}

export interface FakeTiming {
  ttftMs?: number;
  tokenDelayMs?: number;
  replyTokens?: number;
}

/** Counts chat completions only (health checks and scrapes would blur what tests assert). */
export interface FakeOpenAiStats {
  requests: number;
  /** Streams the client closed before the end (cancellation reached the upstream). */
  aborted: number;
  active: number;
  /** Streams and JSON answers sent to the end. */
  completed: number;
  waiting: number;
  /** Image content parts received. */
  images: number;
}

export interface FakeOpenAi {
  url: string;
  port: number;
  close(): Promise<void>;
  stats: FakeOpenAiStats;
  /** Flips the failure mode; requests already streaming keep the mode they started with. */
  setMode(mode: FakeMode, opts?: FakeRuntimeOptions): void;
  readonly mode: FakeMode;
  setTiming(timing: FakeTiming): void;
  /** What /health answers: false → 503 (the active health checks see the server down). */
  setHealthy(healthy: boolean): void;
}

export const DEFAULT_FAKE_MODEL_ID = 'fake-model';
export const DEFAULT_TOKEN_DELAY_MS = 10;
export const DEFAULT_DIE_AFTER_TOKENS = 2;
export const DEFAULT_KV_CACHE_TOKENS = 200_000;
/** Prompt prefixes remembered for the simulated prefix cache. */
const PREFIX_CACHE_ENTRIES = 10_000;

/** Lines of the numbered RAG context ("[1] title") in the system prompt. */
function countContextLines(messages: FakeMessage[]): number {
  return messages
    .filter((m) => m.role === 'system')
    .reduce((n, m) => n + m.content.split('\n').filter((line) => /^\[\d+\]/u.test(line)).length, 0);
}

export function defaultReply(messages: FakeMessage[]): string {
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const images = lastUser?.images?.length ? ` (images: ${lastUser.images.length})` : '';
  return `FAKE-UPSTREAM answer to: ${lastUser?.content ?? ''}${images} (context lines: ${countContextLines(messages)})`;
}

/** One "token" per word with its trailing space, so the deltas concatenate back to the reply. */
function splitTokens(text: string): string[] {
  return text.match(/\s*\S+/gu) ?? [];
}

function countPromptTokens(messages: FakeMessage[]): number {
  return messages.reduce((n, m) => n + splitTokens(m.content).length + 4, 0);
}

interface ChatRequest {
  model: string;
  messages: FakeMessage[];
  stream: boolean;
  includeUsage: boolean;
  maxTokens?: number;
}

/** A message's content: a string, or OpenAI content parts (text and image_url). */
function parseMessage(m: unknown, i: number): FakeMessage {
  const msg = m as Record<string, unknown> | null;
  const bad = () => new HttpError(400, `messages[${i}] must have a string role and a string or content-part array content`, `messages[${i}]`);
  if (!msg || typeof msg.role !== 'string') throw bad();
  if (typeof msg.content === 'string') return { role: msg.role, content: msg.content };
  if (!Array.isArray(msg.content)) throw bad();
  const texts: string[] = [];
  const images: string[] = [];
  for (const part of msg.content as Record<string, unknown>[]) {
    if (part?.type === 'text' && typeof part.text === 'string') texts.push(part.text);
    else if (part?.type === 'image_url' && typeof (part.image_url as { url?: unknown } | undefined)?.url === 'string') {
      images.push((part.image_url as { url: string }).url);
    } else throw bad();
  }
  return { role: msg.role, content: texts.join('\n'), images };
}

function parseChatRequest(body: unknown, models: ReadonlySet<string>, modelId: string): ChatRequest {
  if (typeof body !== 'object' || body === null) throw new HttpError(400, 'request body must be a JSON object');
  const b = body as Record<string, unknown>;
  const model = b.model ?? modelId;
  if (typeof model !== 'string') throw new HttpError(400, 'model must be a string', 'model');
  // vLLM answers 404 for a model it does not serve; tests use this for the error path.
  if (!models.has(model)) throw new HttpError(404, `The model \`${model}\` does not exist.`, 'model');
  if (!Array.isArray(b.messages) || b.messages.length === 0) throw new HttpError(400, 'messages must be a non-empty array', 'messages');
  const messages = b.messages.map(parseMessage);
  const maxTokens = b.max_tokens;
  if (maxTokens !== undefined && (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1)) {
    throw new HttpError(400, 'max_tokens must be a positive integer', 'max_tokens');
  }
  const streamOptions = b.stream_options as Record<string, unknown> | undefined;
  return {
    model,
    messages,
    stream: b.stream === true,
    includeUsage: streamOptions?.include_usage === true,
    maxTokens: maxTokens as number | undefined,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function nonNegativeInt(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new HttpError(400, `${field} must be a non-negative integer`, field);
  return value;
}

export async function startFakeOpenAi(opts: FakeOpenAiOptions = {}): Promise<FakeOpenAi> {
  const modelId = opts.modelId ?? DEFAULT_FAKE_MODEL_ID;
  const timing = { tokenDelayMs: opts.tokenDelayMs ?? DEFAULT_TOKEN_DELAY_MS, ttftMs: opts.ttftMs ?? 0, replyTokens: opts.replyTokens };
  const reply = opts.reply ?? defaultReply;
  const maxNumSeqs = opts.maxNumSeqs ?? Infinity;
  const kvCacheTokens = opts.kvCacheTokens ?? DEFAULT_KV_CACHE_TOKENS;
  let mode: FakeMode = opts.mode ?? 'ok';
  let dieAfterTokens = opts.dieAfterTokens ?? DEFAULT_DIE_AFTER_TOKENS;
  let healthy = true;
  const hung = new Set<ServerResponse>();
  const stats: FakeOpenAiStats = { requests: 0, aborted: 0, active: 0, completed: 0, waiting: 0, images: 0 };
  const vllm = new VllmMetrics();
  const ctx: FakeContext = { modelId, created: Math.floor(Date.now() / 1000), models: new Set([modelId]) };
  let running = 0;
  let kvTokens = 0;
  const waiting: (() => void)[] = [];
  const prefixes = new Map<string, number>();

  const setMode = (next: FakeMode, runtime: FakeRuntimeOptions = {}) => {
    if (!FAKE_MODES.includes(next)) throw new TypeError(`unknown fake mode "${String(next)}" (modes: ${FAKE_MODES.join(', ')})`);
    mode = next;
    if (runtime.dieAfterTokens !== undefined) dieAfterTokens = runtime.dieAfterTokens;
  };
  const setTiming = (next: FakeTiming) => {
    Object.assign(timing, Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined)));
  };

  /** Like vLLM's scheduler: at most maxNumSeqs run; the rest wait in arrival order. */
  const admit = async (): Promise<() => void> => {
    if (running >= maxNumSeqs) {
      stats.waiting++;
      await new Promise<void>((resolve) => waiting.push(resolve));
      stats.waiting--;
    }
    running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      running--;
      waiting.shift()?.();
    };
  };

  /** A repeated conversation prefix (all but the last message) counts as cached prompt tokens. */
  const prefixCache = (messages: FakeMessage[], promptTokens: number) => {
    vllm.prefixCacheQueries += promptTokens;
    if (messages.length < 2) return;
    const prefix = messages.slice(0, -1);
    const key = JSON.stringify(prefix);
    if (prefixes.has(key)) vllm.prefixCacheHits += countPromptTokens(prefix);
    prefixes.delete(key);
    prefixes.set(key, 1);
    if (prefixes.size > PREFIX_CACHE_ENTRIES) prefixes.delete(prefixes.keys().next().value as string);
  };

  const handleChat = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const request = parseChatRequest(await readJson(req), ctx.models, modelId);
    const images = request.messages.reduce((n, m) => n + (m.images?.length ?? 0), 0);
    if (images > 0 && !opts.multimodal) {
      throw new HttpError(400, `${request.model} is not a multimodal model: image content parts are not supported`, 'messages');
    }
    stats.images += images;
    // Captured per request so a runtime flip only affects requests that start after it.
    const requestMode = mode;
    const dieAfter = dieAfterTokens;
    const { tokenDelayMs, ttftMs, replyTokens } = timing;
    if (requestMode === 'refuse') {
      sendJson(res, 503, { error: { message: 'server is refusing requests (fake refuse mode)', type: 'service_unavailable', param: null, code: 503 } });
      return;
    }
    if (requestMode === 'hang') {
      // Held open until the client gives up or the server closes; counted like any abort.
      hung.add(res);
      res.on('close', () => {
        hung.delete(res);
        stats.aborted++;
      });
      return;
    }
    const release = await admit();
    res.once('close', release);
    const started = process.hrtime.bigint();
    const id = `chatcmpl-fake-${stats.requests}`;
    let tokens =
      replyTokens !== undefined
        ? Array.from({ length: replyTokens }, (_, i) => `${i === 0 ? '' : ' '}tok${i + 1}`)
        : splitTokens(reply(request.messages));
    let finishReason = 'stop';
    if (request.maxTokens !== undefined && tokens.length > request.maxTokens) {
      tokens = tokens.slice(0, request.maxTokens);
      finishReason = 'length';
    }
    const promptTokens = countPromptTokens(request.messages);
    vllm.promptTokens += promptTokens;
    prefixCache(request.messages, promptTokens);
    const usage = { prompt_tokens: promptTokens, completion_tokens: tokens.length, total_tokens: promptTokens + tokens.length };
    // KV cache held while the request runs: its prompt now, one slot per generated token.
    let held = promptTokens;
    kvTokens += held;
    res.once('close', () => {
      kvTokens -= held;
    });

    if (!request.stream) {
      await sleep(ttftMs + tokenDelayMs * tokens.length);
      vllm.ttft.observe(Number(process.hrtime.bigint() - started) / 1e9);
      vllm.generationTokens += tokens.length;
      vllm.requestFinished(finishReason);
      stats.completed++;
      sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created: ctx.created,
        model: request.model,
        choices: [{ index: 0, message: { role: 'assistant', content: tokens.join('') }, finish_reason: finishReason }],
        usage,
      });
      return;
    }

    let disconnected = false;
    let died = false;
    res.on('close', () => {
      // 'close' before the response finished means the client went away mid-stream.
      if (!res.writableFinished && !died) {
        disconnected = true;
        stats.aborted++;
      }
    });
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    const head = `{"id":"${id}","object":"chat.completion.chunk","created":${ctx.created},"model":${JSON.stringify(request.model)},"choices":`;
    const send = (choices: unknown[], extra = '') => res.write(`data: ${head}${JSON.stringify(choices)}${extra}}\n\n`);

    send([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
    if (ttftMs > 0) await sleep(ttftMs);
    let last = started;
    for (const [i, token] of tokens.entries()) {
      await sleep(tokenDelayMs);
      if (disconnected) return;
      if (requestMode === 'dieMidStream' && i >= dieAfter) {
        // No finish chunk, no [DONE]: exactly what a crashed vLLM worker looks like on the wire.
        died = true;
        res.socket?.destroy();
        return;
      }
      const now = process.hrtime.bigint();
      if (i === 0) vllm.ttft.observe(Number(now - started) / 1e9);
      else vllm.interToken.observe(Number(now - last) / 1e9);
      last = now;
      vllm.generationTokens++;
      held++;
      kvTokens++;
      send([{ index: 0, delta: { content: token }, finish_reason: null }]);
    }
    if (disconnected) return;
    send([{ index: 0, delta: {}, finish_reason: finishReason }]);
    if (request.includeUsage && !opts.omitUsage) send([], `,"usage":${JSON.stringify(usage)}`);
    vllm.requestFinished(finishReason);
    stats.completed++;
    res.end('data: [DONE]\n\n');
  };

  /** POST /fake/config: the runtime knobs, for tests and benches that run the fake as a process. */
  const configure = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = (await readJson(req)) as Record<string, unknown> | null;
    if (typeof body !== 'object' || body === null) throw new HttpError(400, 'request body must be a JSON object');
    if (body.mode !== undefined && !(FAKE_MODES as readonly unknown[]).includes(body.mode)) {
      throw new HttpError(400, `mode must be one of ${FAKE_MODES.join(', ')}`, 'mode');
    }
    if (body.healthy !== undefined && typeof body.healthy !== 'boolean') throw new HttpError(400, 'healthy must be a boolean', 'healthy');
    const next: FakeTiming = {
      ttftMs: nonNegativeInt(body.ttftMs, 'ttftMs'),
      tokenDelayMs: nonNegativeInt(body.tokenDelayMs, 'tokenDelayMs'),
      replyTokens: nonNegativeInt(body.replyTokens, 'replyTokens'),
    };
    const die = nonNegativeInt(body.dieAfterTokens, 'dieAfterTokens');
    setTiming(next);
    if (body.mode !== undefined) setMode(body.mode as FakeMode, { dieAfterTokens: die });
    else if (die !== undefined) dieAfterTokens = die;
    if (typeof body.healthy === 'boolean') healthy = body.healthy;
    sendJson(res, 200, { mode, dieAfterTokens, healthy, ...timing });
  };

  const routes: FakeRoute[] = [
    { method: 'POST', path: '/v1/chat/completions', handle: handleChat },
    {
      method: 'GET',
      path: '/v1/models',
      handle: (_req, res) =>
        sendJson(res, 200, {
          object: 'list',
          data: [...ctx.models].map((id) => ({ id, object: 'model', created: ctx.created, owned_by: 'fake-openai', root: modelId, parent: id === modelId ? null : modelId })),
        }),
    },
    { method: 'GET', path: '/health', handle: (_req, res) => void res.writeHead(healthy ? 200 : 503).end() },
    {
      method: 'GET',
      path: '/metrics',
      handle: (_req, res) =>
        void res
          .writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' })
          .end(vllm.text(modelId, { running, waiting: stats.waiting, kvCacheUsage: Math.min(1, kvTokens / kvCacheTokens) })),
    },
    { method: 'GET', path: '/fake/stats', handle: (_req, res) => sendJson(res, 200, { ...stats, mode, healthy }) },
    { method: 'POST', path: '/fake/config', handle: configure },
    // Others' routes: one line each, e.g. ...embeddingRoutes.
    ...loraRoutes,
    ...embeddingRoutes(),
  ];
  const table = new Map(routes.map((r) => [`${r.method} ${r.path}`, r]));

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/v1/chat/completions') {
      stats.requests++;
      stats.active++;
      res.on('close', () => {
        stats.active--;
      });
    }
    const route = table.get(`${req.method ?? 'GET'} ${path}`);
    const handled = route ? Promise.resolve(route.handle(req, res, ctx)) : Promise.reject(new HttpError(404, `no route for ${req.method ?? '?'} ${path}`));
    handled.catch((err: unknown) => sendError(res, err));
  });
  // Pooled upstream connections (the proxy's keep-alive agent) stay open between requests.
  server.keepAliveTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1', backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    // A wildcard bind is reachable on loopback; that is the address tests and callers use.
    url: `http://${!opts.host || opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${port}`,
    port,
    stats,
    get mode() {
      return mode;
    },
    setMode,
    setTiming,
    setHealthy: (next) => {
      healthy = next;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
