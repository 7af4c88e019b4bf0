import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small OpenAI-compatible upstream for tests and local runs: /v1/chat/completions
 * (JSON and real SSE with usage), /v1/models, /health and vLLM-named /metrics.
 * It notices client disconnects mid-stream, so tests can prove cancellation reached it.
 */

export interface FakeMessage {
  role: string;
  content: string;
}

export interface FakeOpenAiOptions {
  port?: number;
  host?: string;
  modelId?: string;
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
  aborted: number;
  active: number;
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
const MAX_BODY_BYTES = 1024 * 1024;
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** Lines of the numbered RAG context ("[1] title") in the system prompt. */
function countContextLines(messages: FakeMessage[]): number {
  return messages
    .filter((m) => m.role === 'system')
    .reduce((n, m) => n + m.content.split('\n').filter((line) => /^\[\d+\]/u.test(line)).length, 0);
}

export function defaultReply(messages: FakeMessage[]): string {
  const lastUser = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  return `FAKE-UPSTREAM answer to: ${lastUser} (context lines: ${countContextLines(messages)})`;
}

/** One "token" per word with its trailing space, so the deltas concatenate back to the reply. */
function splitTokens(text: string): string[] {
  return text.match(/\s*\S+/gu) ?? [];
}

function countPromptTokens(messages: FakeMessage[]): number {
  return messages.reduce((n, m) => n + splitTokens(m.content).length + 4, 0);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

interface ChatRequest {
  model: string;
  messages: FakeMessage[];
  stream: boolean;
  includeUsage: boolean;
  maxTokens?: number;
}

function parseChatRequest(body: unknown, modelId: string): ChatRequest {
  if (typeof body !== 'object' || body === null) throw new HttpError(400, 'request body must be a JSON object');
  const b = body as Record<string, unknown>;
  const model = b.model ?? modelId;
  if (typeof model !== 'string') throw new HttpError(400, 'model must be a string', 'model');
  // vLLM answers 404 for a model it does not serve; tests use this for the error path.
  if (model !== modelId) throw new HttpError(404, `The model \`${model}\` does not exist.`, 'model');
  if (!Array.isArray(b.messages) || b.messages.length === 0) throw new HttpError(400, 'messages must be a non-empty array', 'messages');
  const messages = b.messages.map((m: unknown, i: number): FakeMessage => {
    const msg = m as Record<string, unknown> | null;
    if (!msg || typeof msg.role !== 'string' || typeof msg.content !== 'string') {
      throw new HttpError(400, `messages[${i}] must have string role and content`, `messages[${i}]`);
    }
    return { role: msg.role, content: msg.content };
  });
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

async function readJson(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
    parts.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startFakeOpenAi(opts: FakeOpenAiOptions = {}): Promise<FakeOpenAi> {
  const modelId = opts.modelId ?? DEFAULT_FAKE_MODEL_ID;
  const timing = { tokenDelayMs: opts.tokenDelayMs ?? DEFAULT_TOKEN_DELAY_MS, ttftMs: opts.ttftMs ?? 0, replyTokens: opts.replyTokens };
  const reply = opts.reply ?? defaultReply;
  let mode: FakeMode = opts.mode ?? 'ok';
  let dieAfterTokens = opts.dieAfterTokens ?? DEFAULT_DIE_AFTER_TOKENS;
  let healthy = true;
  const hung = new Set<ServerResponse>();
  const stats: FakeOpenAiStats = { requests: 0, aborted: 0, active: 0 };
  const totals = { promptTokens: 0, generationTokens: 0 };
  const ttft = { buckets: TTFT_BUCKETS.map(() => 0), sum: 0, count: 0 };
  const created = Math.floor(Date.now() / 1000);

  const observeTtft = (seconds: number) => {
    TTFT_BUCKETS.forEach((le, i) => {
      if (seconds <= le) ttft.buckets[i]++;
    });
    ttft.sum += seconds;
    ttft.count++;
  };

  const metricsText = (): string => {
    const label = `model_name="${modelId}"`;
    const lines = [
      '# HELP vllm:num_requests_running Number of requests currently running on GPU.',
      '# TYPE vllm:num_requests_running gauge',
      `vllm:num_requests_running{${label}} ${stats.active}`,
      '# HELP vllm:num_requests_waiting Number of requests waiting to be processed.',
      '# TYPE vllm:num_requests_waiting gauge',
      `vllm:num_requests_waiting{${label}} 0`,
      '# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.',
      '# TYPE vllm:gpu_cache_usage_perc gauge',
      `vllm:gpu_cache_usage_perc{${label}} ${Math.min(1, stats.active * 0.05)}`,
      '# HELP vllm:prompt_tokens_total Number of prefill tokens processed.',
      '# TYPE vllm:prompt_tokens_total counter',
      `vllm:prompt_tokens_total{${label}} ${totals.promptTokens}`,
      '# HELP vllm:generation_tokens_total Number of generation tokens processed.',
      '# TYPE vllm:generation_tokens_total counter',
      `vllm:generation_tokens_total{${label}} ${totals.generationTokens}`,
      '# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.',
      '# TYPE vllm:time_to_first_token_seconds histogram',
      ...TTFT_BUCKETS.map((le, i) => `vllm:time_to_first_token_seconds_bucket{le="${le}",${label}} ${ttft.buckets[i]}`),
      `vllm:time_to_first_token_seconds_bucket{le="+Inf",${label}} ${ttft.count}`,
      `vllm:time_to_first_token_seconds_sum{${label}} ${ttft.sum}`,
      `vllm:time_to_first_token_seconds_count{${label}} ${ttft.count}`,
    ];
    return `${lines.join('\n')}\n`;
  };

  const handleChat = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const request = parseChatRequest(await readJson(req), modelId);
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
    totals.promptTokens += promptTokens;
    const usage = { prompt_tokens: promptTokens, completion_tokens: tokens.length, total_tokens: promptTokens + tokens.length };

    if (!request.stream) {
      await sleep(ttftMs + tokenDelayMs * tokens.length);
      observeTtft(Number(process.hrtime.bigint() - started) / 1e9);
      totals.generationTokens += tokens.length;
      sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model: modelId,
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
    const send = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: modelId, choices, ...extra })}\n\n`);

    send([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
    if (ttftMs > 0) await sleep(ttftMs);
    for (const [i, token] of tokens.entries()) {
      await sleep(tokenDelayMs);
      if (disconnected) return;
      if (requestMode === 'dieMidStream' && i >= dieAfter) {
        // No finish chunk, no [DONE]: exactly what a crashed vLLM worker looks like on the wire.
        died = true;
        res.socket?.destroy();
        return;
      }
      if (i === 0) observeTtft(Number(process.hrtime.bigint() - started) / 1e9);
      totals.generationTokens++;
      send([{ index: 0, delta: { content: token }, finish_reason: null }]);
    }
    if (disconnected) return;
    send([{ index: 0, delta: {}, finish_reason: finishReason }]);
    if (request.includeUsage) send([], { usage });
    res.end('data: [DONE]\n\n');
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'POST' && path === '/v1/chat/completions') return handleChat(req, res);
    if (req.method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, { object: 'list', data: [{ id: modelId, object: 'model', created, owned_by: 'fake-openai', root: modelId, parent: null }] });
    }
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(healthy ? 200 : 503).end();
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(metricsText());
      return;
    }
    throw new HttpError(404, `no route for ${req.method ?? '?'} ${path}`);
  };

  const server = createServer((req, res) => {
    if (req.url?.startsWith('/v1/chat/completions')) {
      stats.requests++;
      stats.active++;
      res.on('close', () => {
        stats.active--;
      });
    }
    route(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, status, {
        error: { message, type: status >= 500 ? 'internal_error' : 'invalid_request_error', param: err instanceof HttpError ? (err.param ?? null) : null, code: status },
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
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
    setMode: (next, runtime = {}) => {
      if (!FAKE_MODES.includes(next)) throw new TypeError(`unknown fake mode "${String(next)}" (modes: ${FAKE_MODES.join(', ')})`);
      mode = next;
      if (runtime.dieAfterTokens !== undefined) dieAfterTokens = runtime.dieAfterTokens;
    },
    setTiming: (next) => {
      Object.assign(timing, Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined)));
    },
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
