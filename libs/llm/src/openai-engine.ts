import type { Readable } from 'node:stream';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { countTokens, splitSentences } from '@ragmesh/text';
import { buildRagMessages } from './prompt';
import {
  MAX_SUMMARY_SENTENCES,
  usageOf,
  type ChatEngine,
  type ChatMessage,
  type GenerateEvent,
  type GenerateInput,
  type SummarizeInput,
  type Usage,
} from './types';

export interface OpenAiCompatibleEngineOptions {
  baseUrl: string;
  apiKey?: string;
  defaultModel?: string;
  /** Time to the response headers, and the longest silence allowed between stream chunks. */
  timeoutMs?: number;
}

export const DEFAULT_UPSTREAM_TIMEOUT_MS = 60_000;
/** Error bodies are read for the message only; a misbehaving upstream must not fill memory. */
const MAX_ERROR_BODY_CHARS = 4_000;

/** A non-2xx answer from the upstream, with its status and (truncated) body. */
export class UpstreamHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly url: string,
  ) {
    super(`upstream ${url} responded ${status}: ${body || '(empty body)'}`);
    this.name = 'UpstreamHttpError';
  }
}

interface StreamChunk {
  model?: string;
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
  error?: { message?: string } | string;
}

interface Completion {
  choices?: { message?: { content?: string | null } }[];
}

interface ModelList {
  data?: { id?: unknown }[];
}

/**
 * Client of an OpenAI-compatible server (vLLM, Ray Serve LLM, OpenAI): streams
 * /v1/chat/completions over SSE with usage included, and cancels the upstream request
 * when the caller's signal aborts or the consumer stops iterating.
 */
export class OpenAiCompatibleEngine implements ChatEngine {
  readonly name = 'openai-compatible';
  private readonly http: AxiosInstance;
  private readonly timeoutMs: number;

  constructor(private readonly opts: OpenAiCompatibleEngineOptions) {
    let parsed: URL;
    try {
      parsed = new URL(opts.baseUrl);
    } catch {
      throw new TypeError(`OpenAiCompatibleEngine: baseUrl is not a URL: ${opts.baseUrl}`);
    }
    // Accept both "http://host:8000" and "http://host:8000/v1" (how vLLM documents it).
    const base = parsed.toString().replace(/\/+$/u, '').replace(/\/v1$/u, '');
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
    this.http = axios.create({
      baseURL: base,
      timeout: this.timeoutMs,
      headers: opts.apiKey ? { Authorization: `Bearer ${opts.apiKey}` } : {},
      // Statuses are checked here so the error carries the upstream body.
      validateStatus: () => true,
    });
  }

  async *generate(input: GenerateInput): AsyncGenerator<GenerateEvent> {
    input.signal?.throwIfAborted();
    const model = await this.resolveModel(input.model);
    const messages = buildRagMessages(input);
    const response = await this.call(input.signal, () => this.http.post<Readable>(
      '/v1/chat/completions',
      {
        model,
        messages,
        stream: true,
        stream_options: { include_usage: true },
        ...(input.maxTokens !== undefined ? { max_tokens: input.maxTokens } : {}),
        ...(input.temperature !== undefined ? { temperature: input.temperature } : {}),
      },
      { responseType: 'stream', signal: input.signal, headers: { Accept: 'text/event-stream' } },
    ));
    const stream = response.data;
    if (response.status < 200 || response.status >= 300) {
      throw new UpstreamHttpError(response.status, await readBody(stream), `${this.http.defaults.baseURL}/v1/chat/completions`);
    }

    const pending: StreamChunk[] = [];
    let finished = false;
    let parseError: Error | undefined;
    const parser = createParser({
      onEvent: (event: EventSourceMessage) => {
        if (finished) return;
        if (event.data.trim() === '[DONE]') {
          finished = true;
          return;
        }
        try {
          pending.push(JSON.parse(event.data) as StreamChunk);
        } catch {
          parseError ??= new Error(`upstream sent a malformed stream chunk: ${event.data.slice(0, 200)}`);
        }
      },
    });

    let idleTimer: NodeJS.Timeout | undefined;
    const armIdleTimer = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => stream.destroy(new Error(`upstream stream idle for more than ${this.timeoutMs} ms`)), this.timeoutMs);
    };

    let completion = '';
    let usage: Usage | undefined;
    let finishReason = 'stop';
    let sawFinish = false;
    let answeredModel = model;
    try {
      armIdleTimer();
      for await (const raw of stream as AsyncIterable<Buffer | string>) {
        armIdleTimer();
        parser.feed(typeof raw === 'string' ? raw : raw.toString('utf8'));
        if (parseError) throw parseError;
        for (const chunk of pending.splice(0)) {
          if (chunk.error) {
            throw new Error(`upstream stream error: ${typeof chunk.error === 'string' ? chunk.error : (chunk.error.message ?? 'unknown')}`);
          }
          if (chunk.model) answeredModel = chunk.model;
          if (chunk.usage) usage = toUsage(chunk.usage);
          const choice = chunk.choices?.[0];
          if (choice?.finish_reason) {
            finishReason = choice.finish_reason;
            sawFinish = true;
          }
          const text = choice?.delta?.content;
          if (text) {
            completion += text;
            yield { type: 'delta', text };
          }
        }
        if (finished) break;
      }
      input.signal?.throwIfAborted();
    } catch (err) {
      // axios reports a cancelled stream as its own CanceledError; callers expect the signal's reason.
      if (input.signal?.aborted) throw input.signal.reason;
      throw err;
    } finally {
      clearTimeout(idleTimer);
      // Covers an early `return` by the consumer too: the upstream stops generating.
      if (!stream.destroyed) stream.destroy();
    }
    if (!finished && !sawFinish) throw new Error('upstream stream ended before the answer finished');
    usage ??= usageOf(messages.reduce((n, m) => n + countTokens(m.content), 0), countTokens(completion));
    yield { type: 'done', finishReason, usage, model: answeredModel };
  }

  async summarize(input: SummarizeInput): Promise<string> {
    if (!Number.isInteger(input.maxSentences) || input.maxSentences < 1) {
      throw new RangeError(`summarize: maxSentences must be a positive integer, got ${input.maxSentences}`);
    }
    const limit = Math.min(input.maxSentences, MAX_SUMMARY_SENTENCES);
    const model = await this.resolveModel(undefined);
    const transcript = input.messages
      .filter((m) => m.role !== 'system')
      .map((m) => `${m.role}: ${m.content}`)
      .join('\n');
    const messages: ChatMessage[] = [
      {
        role: 'system',
        content:
          `Summarize the conversation in at most ${limit} sentences, in the language of the conversation. ` +
          'Merge the previous summary with the new messages; keep facts, names, numbers and open questions. ' +
          'Reply with the summary only.',
      },
      { role: 'user', content: `Previous summary:\n${input.previousSummary || '(none)'}\n\nNew messages:\n${transcript}` },
    ];
    const response = await this.call(input.signal, () =>
      this.http.post<Completion | string>('/v1/chat/completions', { model, messages, stream: false, temperature: 0 }, { signal: input.signal }),
    );
    this.ensureOk(response, '/v1/chat/completions');
    const content = typeof response.data === 'object' ? response.data.choices?.[0]?.message?.content : undefined;
    if (typeof content !== 'string') throw new Error('upstream summary response has no choices[0].message.content');
    // Models overrun length instructions; the contract is a hard limit.
    return splitSentences(content).slice(0, limit).join(' ');
  }

  async listModels(): Promise<string[]> {
    const response = await this.call(undefined, () => this.http.get<ModelList | string>('/v1/models'));
    this.ensureOk(response, '/v1/models');
    const data = typeof response.data === 'object' ? response.data.data : undefined;
    if (!Array.isArray(data)) throw new Error('upstream /v1/models response has no data array');
    return data.map((m) => m.id).filter((id): id is string => typeof id === 'string');
  }

  /** Runs a request; a cancellation surfaces as the signal's reason, a network failure names the upstream. */
  private async call<T>(signal: AbortSignal | undefined, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (axios.isAxiosError(err)) {
        throw new Error(`upstream ${this.opts.baseUrl} unreachable: ${err.code ?? ''} ${err.message}`.replace(/\s+/gu, ' '), { cause: err });
      }
      throw err;
    }
  }

  private async resolveModel(requested: string | undefined): Promise<string> {
    if (requested) return requested;
    if (this.opts.defaultModel) return this.opts.defaultModel;
    const [first] = await this.listModels();
    if (!first) throw new Error(`upstream ${this.opts.baseUrl} serves no models`);
    return first;
  }

  private ensureOk(response: AxiosResponse, path: string): void {
    if (response.status >= 200 && response.status < 300) return;
    const body = typeof response.data === 'string' ? response.data : JSON.stringify(response.data ?? '');
    throw new UpstreamHttpError(response.status, body.slice(0, MAX_ERROR_BODY_CHARS), `${this.http.defaults.baseURL}${path}`);
  }
}

function toUsage(u: NonNullable<StreamChunk['usage']>): Usage {
  const prompt = u.prompt_tokens ?? 0;
  const completion = u.completion_tokens ?? 0;
  return { promptTokens: prompt, completionTokens: completion, totalTokens: u.total_tokens ?? prompt + completion };
}

async function readBody(stream: Readable): Promise<string> {
  let body = '';
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      body += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      if (body.length >= MAX_ERROR_BODY_CHARS) break;
    }
  } finally {
    stream.destroy();
  }
  return body.slice(0, MAX_ERROR_BODY_CHARS);
}
