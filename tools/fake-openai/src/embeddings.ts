import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, readJson, sendJson } from './http';
import type { FakeRoute } from './routes';

/** Vector length when the request does not ask for `dimensions` (a small real model's size). */
export const FAKE_EMBEDDING_DIMENSIONS = 384;
export const MAX_FAKE_EMBEDDING_DIMENSIONS = 4_096;
export const MAX_FAKE_EMBEDDING_INPUTS = 2_048;
const NGRAM_SIZES = [2, 3];

/** What the fake's embeddings route has served, and the pause switch tests use. */
export interface FakeEmbeddingStats {
  requests: number;
  inputs: number;
  /** Requests waiting while paused. */
  waiting: number;
  paused: boolean;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * A deterministic stand-in for an embedding model: the text's character 2- and 3-grams hashed
 * with the model name as a seed (so two model names give incompatible spaces, as two real
 * models do), signed buckets, L2-normalised. No weights, nothing downloaded.
 */
export function fakeEmbedding(model: string, text: string, dimensions = FAKE_EMBEDDING_DIMENSIONS): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  const chars = [' ', ...Array.from(text.normalize('NFC').toLowerCase().replace(/\s+/gu, ' ').trim()), ' '];
  for (const n of NGRAM_SIZES) {
    for (let i = 0; i + n <= chars.length; i++) {
      const hash = fnv1a(`${model}\u0000${chars.slice(i, i + n).join('')}`);
      vector[(hash & 0x7fffffff) % dimensions] += hash & 0x80000000 ? -1 : 1;
    }
  }
  const norm = Math.sqrt(vector.reduce((s, v) => s + v * v, 0));
  return norm === 0 ? vector : vector.map((v) => v / norm);
}

function parseRequest(body: unknown): { model: string; inputs: string[]; dimensions: number } {
  if (typeof body !== 'object' || body === null) throw new HttpError(400, 'request body must be a JSON object');
  const { model, input, dimensions, encoding_format: format } = body as Record<string, unknown>;
  if (typeof model !== 'string' || model.trim() === '') throw new HttpError(400, 'model must be a non-empty string', 'model');
  const inputs = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(inputs) || inputs.length === 0 || !inputs.every((x) => typeof x === 'string')) {
    throw new HttpError(400, 'input must be a string or a non-empty array of strings', 'input');
  }
  if (inputs.length > MAX_FAKE_EMBEDDING_INPUTS) throw new HttpError(400, `input must have at most ${MAX_FAKE_EMBEDDING_INPUTS} items`, 'input');
  if (format !== undefined && format !== 'float') throw new HttpError(400, 'encoding_format must be "float"', 'encoding_format');
  const dims = dimensions ?? FAKE_EMBEDDING_DIMENSIONS;
  if (!Number.isInteger(dims) || (dims as number) < 1 || (dims as number) > MAX_FAKE_EMBEDDING_DIMENSIONS) {
    throw new HttpError(400, `dimensions must be an integer in [1, ${MAX_FAKE_EMBEDDING_DIMENSIONS}]`, 'dimensions');
  }
  return { model, inputs: inputs as string[], dimensions: dims as number };
}

/**
 * POST /v1/embeddings (OpenAI's shape, any model name) and POST /fake/embeddings
 * (`{paused?: boolean}` → the stats): while paused, embedding requests wait, so a test can hold
 * a background re-embed midway and observe the service meanwhile.
 */
export function embeddingRoutes(): FakeRoute[] {
  const stats: FakeEmbeddingStats = { requests: 0, inputs: 0, waiting: 0, paused: false };
  let resume: Promise<void> = Promise.resolve();
  let release: () => void = () => undefined;

  const embeddings = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { model, inputs, dimensions } = parseRequest(await readJson(req));
    stats.waiting++;
    await resume;
    stats.waiting--;
    stats.requests++;
    stats.inputs += inputs.length;
    const promptTokens = inputs.reduce((s, text) => s + Array.from(text).length, 0);
    sendJson(res, 200, {
      object: 'list',
      model,
      data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: fakeEmbedding(model, text, dimensions) })),
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    });
  };

  const control = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = (await readJson(req)) as Record<string, unknown> | null;
    const paused = body?.paused;
    if (paused !== undefined && typeof paused !== 'boolean') throw new HttpError(400, 'paused must be a boolean', 'paused');
    if (paused === true && !stats.paused) resume = new Promise<void>((resolve) => (release = resolve));
    if (paused === false && stats.paused) release();
    if (paused !== undefined) stats.paused = paused;
    sendJson(res, 200, stats);
  };

  return [
    { method: 'POST', path: '/v1/embeddings', handle: embeddings },
    { method: 'POST', path: '/fake/embeddings', handle: control },
  ];
}
