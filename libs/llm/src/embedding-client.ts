import axios, { type AxiosInstance } from 'axios';
import { UpstreamHttpError } from './openai-engine';

export interface OpenAiEmbeddingClientOptions {
  /** "http://host:8000" or "http://host:8000/v1". */
  baseUrl: string;
  model: string;
  apiKey?: string;
  timeoutMs?: number;
  /** Inputs per /v1/embeddings request; longer lists are sent in several requests. */
  batchSize?: number;
}

export const DEFAULT_EMBEDDING_TIMEOUT_MS = 30_000;
export const DEFAULT_EMBEDDING_BATCH_SIZE = 64;
const MAX_ERROR_BODY_CHARS = 4_000;

interface EmbeddingsResponse {
  data?: { index?: unknown; embedding?: unknown }[];
}

/** An answer that is not a list of one equal-length numeric vector per input. */
export class EmbeddingResponseError extends Error {
  constructor(message: string) {
    super(`/v1/embeddings: ${message}`);
    this.name = 'EmbeddingResponseError';
  }
}

/**
 * Client of an OpenAI-compatible `/v1/embeddings` endpoint (vLLM `--task embed`, OpenAI, TEI's
 * OpenAI route). Vectors come back L2-normalised, in input order, so a dot product is the cosine
 * whatever the server does.
 */
export class OpenAiEmbeddingClient {
  readonly model: string;
  private readonly http: AxiosInstance;
  private readonly batchSize: number;

  constructor(opts: OpenAiEmbeddingClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(opts.baseUrl);
    } catch {
      throw new TypeError(`OpenAiEmbeddingClient: baseUrl is not a URL: ${opts.baseUrl}`);
    }
    if (opts.model.trim() === '') throw new TypeError('OpenAiEmbeddingClient: model must not be empty');
    this.model = opts.model;
    this.batchSize = opts.batchSize ?? DEFAULT_EMBEDDING_BATCH_SIZE;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new RangeError(`OpenAiEmbeddingClient: batchSize must be a positive integer, got ${opts.batchSize}`);
    }
    this.http = axios.create({
      baseURL: parsed.toString().replace(/\/+$/u, '').replace(/\/v1$/u, ''),
      timeout: opts.timeoutMs ?? DEFAULT_EMBEDDING_TIMEOUT_MS,
      headers: opts.apiKey ? { Authorization: `Bearer ${opts.apiKey}` } : {},
      validateStatus: () => true,
    });
  }

  /** One vector per text, in order; [] for []. */
  async embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    const vectors: number[][] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) {
      vectors.push(...(await this.embedBatch(texts.slice(i, i + this.batchSize), signal)));
    }
    const dims = vectors[0]?.length;
    if (vectors.some((v) => v.length !== dims)) throw new EmbeddingResponseError('vectors of different lengths');
    return vectors;
  }

  private async embedBatch(input: string[], signal?: AbortSignal): Promise<number[][]> {
    const res = await this.http.post<EmbeddingsResponse>('/v1/embeddings', { model: this.model, input, encoding_format: 'float' }, { signal });
    if (res.status < 200 || res.status >= 300) {
      const body = typeof res.data === 'string' ? res.data : JSON.stringify(res.data ?? '');
      throw new UpstreamHttpError(res.status, body.slice(0, MAX_ERROR_BODY_CHARS), `${this.http.defaults.baseURL ?? ''}/v1/embeddings`);
    }
    const data = res.data?.data;
    if (!Array.isArray(data) || data.length !== input.length) {
      throw new EmbeddingResponseError(`expected ${input.length} embeddings, got ${Array.isArray(data) ? data.length : 'none'}`);
    }
    const out: number[][] = new Array<number[]>(input.length);
    data.forEach((item, position) => {
      // `index` says which input a vector belongs to; servers may answer out of order.
      const index = typeof item.index === 'number' ? item.index : position;
      if (!Number.isInteger(index) || index < 0 || index >= input.length || out[index] !== undefined) {
        throw new EmbeddingResponseError(`bad or repeated index ${String(item.index)}`);
      }
      out[index] = normalized(item.embedding);
    });
    return out;
  }
}

function normalized(value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new EmbeddingResponseError('an embedding is not a non-empty array of finite numbers (base64 is not requested)');
  }
  const vector = value as number[];
  const norm = Math.sqrt(vector.reduce((s, x) => s + x * x, 0));
  return norm === 0 ? vector : vector.map((x) => x / norm);
}
