import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  buildRagMessages,
  type ChatEngine,
  type GenerateEvent,
  type GenerateInput,
  OpenAiCompatibleEngine,
  type SummarizeInput,
  type Usage,
  UpstreamHttpError,
} from '@ragmesh/llm';
import { countTokens } from '@ragmesh/text';
import { type ProxyChatMessage, toOpenAiMessage } from './content-parts';

export interface OpenAiUpstreamOptions {
  baseUrl: string;
  apiKey?: string;
  defaultModel?: string;
  /** Time to the response headers, and the longest silence allowed while streaming. */
  timeoutMs: number;
}

/** Error bodies are read for the message only; a misbehaving upstream must not fill memory. */
const MAX_ERROR_BODY_CHARS = 4_000;

interface StreamChunk {
  model?: string;
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
  error?: { message?: string } | string;
}

/** Splits an SSE text stream into the `data:` payloads of its events (the only field OpenAI servers use). */
export class SseDataParser {
  private buffer = '';

  /** Returns the complete events' data fields; a partial event waits for the next call. */
  feed(text: string): string[] {
    // vLLM and OpenAI end lines with \n; CRLF servers are normalised (the SSE spec allows both).
    this.buffer += text.includes('\r') ? text.replace(/\r\n?/gu, '\n') : text;
    const out: string[] = [];
    let start = 0;
    for (let end = this.buffer.indexOf('\n\n'); end >= 0; end = this.buffer.indexOf('\n\n', start)) {
      const data = dataOf(this.buffer.slice(start, end));
      if (data !== undefined) out.push(data);
      start = end + 2;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }
}

function dataOf(block: string): string | undefined {
  // The common case (one `data: …` line) without splitting.
  if (block.startsWith('data: ') && !block.includes('\n')) return block.slice(6);
  const lines: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('data:')) lines.push(line.slice(line.startsWith('data: ') ? 6 : 5));
  }
  return lines.length > 0 ? lines.join('\n') : undefined;
}

/**
 * The proxy's streaming client of one OpenAI-compatible upstream (vLLM, Ray Serve LLM): plain
 * node:http on a keep-alive agent and a small SSE parser, because this loop runs once per
 * streamed token and is the proxy's hot path. It passes image content parts through, asks for
 * usage (stream_options.include_usage) and counts tokens itself when the upstream sends none,
 * and destroys the HTTP request when the caller's signal aborts or iteration stops early.
 * Summaries and model lists (not per token) reuse @ragmesh/llm's client.
 */
export class OpenAiUpstream implements ChatEngine {
  readonly name = 'openai-compatible';
  private readonly root: URL;
  private readonly agent: HttpAgent;
  private readonly fallback: OpenAiCompatibleEngine;
  private resolvedModel: string | undefined;

  constructor(private readonly opts: OpenAiUpstreamOptions) {
    this.root = new URL(opts.baseUrl.replace(/\/+$/u, '').replace(/\/v1$/u, ''));
    const AgentClass = this.root.protocol === 'https:' ? HttpsAgent : HttpAgent;
    this.agent = new AgentClass({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256, scheduling: 'lifo' });
    this.fallback = new OpenAiCompatibleEngine(opts);
  }

  async *generate(input: GenerateInput): AsyncGenerator<GenerateEvent> {
    input.signal?.throwIfAborted();
    const model = await this.resolveModel(input.model);
    const messages = buildRagMessages(input) as ProxyChatMessage[];
    const body = JSON.stringify({
      model,
      messages: messages.map(toOpenAiMessage),
      stream: true,
      stream_options: { include_usage: true },
      ...(input.maxTokens !== undefined ? { max_tokens: input.maxTokens } : {}),
      ...(input.temperature !== undefined ? { temperature: input.temperature } : {}),
    });
    const { response, detach } = await this.post('/v1/chat/completions', body, input.signal);
    const parser = new SseDataParser();
    let completion = '';
    let usage: Usage | undefined;
    let finishReason: string | undefined;
    let finished = false;
    let answeredModel = model;
    try {
      for await (const text of readText(response)) {
        // Tokens that arrived in one read leave as one delta: when the proxy falls behind it
        // catches up with fewer messages instead of paying gRPC and SSE framing per token.
        let deltas = '';
        for (const data of parser.feed(text)) {
          if (data === '[DONE]') {
            finished = true;
            // The answer is complete: a later abort (the pool always aborts its attempt when done)
            // must not destroy a socket that is about to return to the keep-alive pool.
            detach();
            break;
          }
          const chunk = parseChunk(data);
          if (chunk.model) answeredModel = chunk.model;
          if (chunk.usage) usage = toUsage(chunk.usage);
          const choice = chunk.choices?.[0];
          if (choice?.finish_reason) finishReason = choice.finish_reason;
          const delta = choice?.delta?.content;
          if (delta) deltas += delta;
        }
        if (deltas !== '') {
          completion += deltas;
          yield { type: 'delta', text: deltas };
        }
        if (finished) break;
      }
      input.signal?.throwIfAborted();
    } catch (err) {
      if (input.signal?.aborted) throw input.signal.reason;
      throw err;
    } finally {
      // After [DONE] the rest is drained so the socket goes back to the keep-alive pool; any
      // other exit (an early `return` by the consumer, an error) stops the upstream generating.
      if (finished) response.resume();
      else if (!response.complete) response.destroy();
    }
    if (!finished && finishReason === undefined) throw new Error(`upstream ${this.root.host} stream ended before the answer finished`);
    // vLLM omits usage unless asked, and some servers ignore the ask: count it here then.
    usage ??= {
      promptTokens: messages.reduce((n, m) => n + countTokens(m.content), 0),
      completionTokens: countTokens(completion),
      totalTokens: 0,
    };
    if (usage.totalTokens === 0) usage.totalTokens = usage.promptTokens + usage.completionTokens;
    yield { type: 'done', finishReason: finishReason ?? 'stop', usage, model: answeredModel };
  }

  summarize(input: SummarizeInput): Promise<string> {
    return this.fallback.summarize(input);
  }

  listModels(): Promise<string[]> {
    return this.fallback.listModels();
  }

  /** Closes idle keep-alive sockets (the member left the pool). */
  close(): void {
    this.agent.destroy();
  }

  private async resolveModel(requested: string | undefined): Promise<string> {
    if (requested) return requested;
    if (this.opts.defaultModel) return this.opts.defaultModel;
    if (this.resolvedModel) return this.resolvedModel;
    const [first] = await this.listModels();
    if (!first) throw new Error(`upstream ${this.root.host} serves no models`);
    this.resolvedModel = first;
    return first;
  }

  /**
   * Resolves with a 2xx response (and `detach`, which stops the signal from destroying the
   * request); rejects with UpstreamHttpError (status + body) or the socket error.
   */
  private post(path: string, body: string, signal: AbortSignal | undefined): Promise<{ response: IncomingMessage; detach: () => void }> {
    const url = new URL(path, this.root);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, {
        method: 'POST',
        agent: this.agent,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          Accept: 'text/event-stream',
          ...(this.opts.apiKey ? { Authorization: `Bearer ${this.opts.apiKey}` } : {}),
        },
      });
      // The caller going away destroys the request: the upstream sees the connection close and stops generating.
      const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      const detach = () => signal?.removeEventListener('abort', onAbort);
      signal?.addEventListener('abort', onAbort, { once: true });
      req.once('close', detach);
      // Idle time on the socket: covers both the wait for headers and silence mid-stream.
      req.setTimeout(this.opts.timeoutMs, () => req.destroy(new Error(`upstream ${this.root.host} idle for more than ${this.opts.timeoutMs} ms`)));
      req.once('error', (err) => reject(signal?.aborted ? signal.reason : err));
      req.once('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve({ response: res, detach });
        readBody(res).then(
          (text) => reject(new UpstreamHttpError(status, text, url.toString())),
          (err: unknown) => reject(err),
        );
      });
      req.end(body);
    });
  }
}

/** Past this many unread pieces the response is paused (backpressure to the upstream socket). */
const READ_HIGH_WATER = 64;

/**
 * The response body as text pieces, one per socket read. Unlike the Readable async iterator it
 * does not destroy the response when the loop stops early, so a response read to [DONE] can be
 * drained back into the keep-alive pool (the iterator's destroy cost a new connection per
 * request), and it allocates one promise per read instead of the iterator's several.
 */
export function readText(response: IncomingMessage): AsyncIterableIterator<string> {
  const queue: string[] = [];
  let head = 0;
  let ended = false;
  let failure: Error | undefined;
  let waiting: { resolve: (r: IteratorResult<string>) => void; reject: (err: Error) => void } | undefined;
  const settle = () => {
    const w = waiting;
    if (!w) return;
    if (head < queue.length) {
      waiting = undefined;
      w.resolve({ value: take(), done: false });
    } else if (failure) {
      waiting = undefined;
      w.reject(failure);
    } else if (ended) {
      waiting = undefined;
      w.resolve({ value: undefined, done: true });
    }
  };
  const take = (): string => {
    const value = queue[head++];
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
      if (response.isPaused() && !ended) response.resume();
    }
    return value;
  };
  const onData = (text: string) => {
    queue.push(text);
    if (waiting) settle();
    else if (queue.length - head >= READ_HIGH_WATER) response.pause();
  };
  const onEnd = () => {
    ended = true;
    settle();
  };
  const onError = (err: Error) => {
    failure = err;
    settle();
  };
  // A response closed before its end (socket reset, destroy) is an error, as the Readable iterator reports it.
  const onClose = () => {
    if (!ended && !failure) failure = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    settle();
  };
  const detach = () => {
    response.off('data', onData);
    response.off('end', onEnd);
    response.off('error', onError);
    response.off('close', onClose);
  };
  response.setEncoding('utf8');
  response.on('data', onData);
  response.on('end', onEnd);
  response.on('error', onError);
  response.on('close', onClose);
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next(): Promise<IteratorResult<string>> {
      if (head < queue.length) return Promise.resolve({ value: take(), done: false });
      if (failure) return Promise.reject(failure);
      if (ended) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
      });
    },
    // Stops listening only: what happens to the response (drain or destroy) is the caller's choice.
    return(): Promise<IteratorResult<string>> {
      detach();
      ended = true;
      return Promise.resolve({ value: undefined, done: true });
    },
  };
}

function parseChunk(data: string): StreamChunk {
  let chunk: StreamChunk;
  try {
    chunk = JSON.parse(data) as StreamChunk;
  } catch {
    throw new Error(`upstream sent a malformed stream chunk: ${data.slice(0, 200)}`);
  }
  if (chunk.error) {
    throw new Error(`upstream stream error: ${typeof chunk.error === 'string' ? chunk.error : (chunk.error.message ?? 'unknown')}`);
  }
  return chunk;
}

function toUsage(u: NonNullable<StreamChunk['usage']>): Usage {
  const prompt = u.prompt_tokens ?? 0;
  const completion = u.completion_tokens ?? 0;
  return { promptTokens: prompt, completionTokens: completion, totalTokens: u.total_tokens ?? prompt + completion };
}

async function readBody(res: IncomingMessage): Promise<string> {
  let body = '';
  res.setEncoding('utf8');
  try {
    for await (const chunk of res as AsyncIterable<string>) {
      body += chunk;
      if (body.length >= MAX_ERROR_BODY_CHARS) break;
    }
  } finally {
    res.destroy();
  }
  return body.slice(0, MAX_ERROR_BODY_CHARS);
}
