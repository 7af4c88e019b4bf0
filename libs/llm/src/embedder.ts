import { normalize } from '@ragmesh/text';

export const DEFAULT_EMBEDDING_DIMENSIONS = 256;
export const EMBEDDING_NGRAM_SIZES: readonly number[] = [2, 3];
const MAX_NGRAM_SIZE = 8;

export interface HashingEmbedderOptions {
  /** Character n-gram lengths hashed into the vector (default EMBEDDING_NGRAM_SIZES). */
  ngramSizes?: readonly number[];
  /**
   * Dampen repeated n-grams with sign(x)·ln(1 + |x|) before normalising, so one frequent
   * syllable pair cannot dominate the vector (off by default: stored vectors stay comparable).
   */
  sublinear?: boolean;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** 32-bit FNV-1a over UTF-16 code units. */
export function fnv1a(text: string): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/**
 * Dense vectors without a model: character 2- and 3-grams of the normalized text (spaces
 * included, so word edges count), hashed into `dimensions` buckets with a hash-derived
 * sign (the signed "hashing trick" keeps collisions from adding up), L2-normalised.
 * Works for Korean because a syllable bigram already carries most of a word's meaning.
 */
export class HashingEmbedder {
  readonly name = 'local-hashing-embedder';
  readonly dimensions: number;
  private readonly ngramSizes: readonly number[];
  private readonly sublinear: boolean;

  constructor(dimensions = DEFAULT_EMBEDDING_DIMENSIONS, options: HashingEmbedderOptions = {}) {
    if (!Number.isInteger(dimensions) || dimensions < 1) {
      throw new RangeError(`HashingEmbedder: dimensions must be a positive integer, got ${dimensions}`);
    }
    const ngramSizes = options.ngramSizes ?? EMBEDDING_NGRAM_SIZES;
    if (ngramSizes.length === 0 || ngramSizes.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_NGRAM_SIZE)) {
      throw new RangeError(`HashingEmbedder: ngramSizes must be integers between 1 and ${MAX_NGRAM_SIZE}, got [${ngramSizes.join(', ')}]`);
    }
    this.dimensions = dimensions;
    this.ngramSizes = [...new Set(ngramSizes)];
    this.sublinear = options.sublinear ?? false;
  }

  embed(text: string): number[] {
    const vector = new Array<number>(this.dimensions).fill(0);
    const chars = Array.from(normalize(text).replace(/[^\p{L}\p{N}\s]/gu, ' ').replace(/\s+/gu, ' ').trim());
    if (chars.length === 0) return vector;
    const padded = [' ', ...chars, ' '];
    for (const n of this.ngramSizes) {
      for (let i = 0; i + n <= padded.length; i++) {
        const gram = padded.slice(i, i + n).join('');
        if (gram.trim().length === 0) continue;
        const hash = fnv1a(gram);
        // The top bit picks the sign; the bucket comes from the remaining bits.
        const sign = hash & 0x80000000 ? -1 : 1;
        vector[(hash & 0x7fffffff) % this.dimensions] += sign;
      }
    }
    if (this.sublinear) {
      for (let i = 0; i < vector.length; i++) vector[i] = Math.sign(vector[i]) * Math.log1p(Math.abs(vector[i]));
    }
    const norm = Math.sqrt(vector.reduce((s, v) => s + v * v, 0));
    return norm === 0 ? vector : vector.map((v) => v / norm);
  }
}

/** Cosine similarity; 0 when either vector is all zeros. */
export function cosine(a: number[], b: number[]): number {
  if (a.length !== b.length) throw new RangeError(`cosine: dimension mismatch (${a.length} vs ${b.length})`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
