export const BM25_K1 = 1.2;
export const BM25_B = 0.75;

interface DocEntry {
  length: number;
  termFrequencies: Map<string, number>;
}

export interface Bm25Options {
  /** Term-frequency saturation (default BM25_K1). */
  k1?: number;
  /** Length normalisation, 0 = none, 1 = full (default BM25_B). */
  b?: number;
}

export interface Bm25Hit {
  id: string;
  score: number;
}

/**
 * In-memory Okapi BM25 (k1 1.2, b 0.75 unless given) with the "+1" idf, ln(1 + (N − n + 0.5)/(n + 0.5)),
 * which stays positive for terms in more than half of the documents.
 * Adding an id that exists replaces the document.
 */
export class Bm25Index {
  private readonly docs = new Map<string, DocEntry>();
  private readonly postings = new Map<string, Map<string, number>>();
  private totalLength = 0;
  readonly k1: number;
  readonly b: number;

  constructor(options: Bm25Options = {}) {
    const k1 = options.k1 ?? BM25_K1;
    const b = options.b ?? BM25_B;
    if (!Number.isFinite(k1) || k1 < 0) throw new RangeError(`Bm25Index: k1 must be a number >= 0, got ${k1}`);
    if (!Number.isFinite(b) || b < 0 || b > 1) throw new RangeError(`Bm25Index: b must be between 0 and 1, got ${b}`);
    this.k1 = k1;
    this.b = b;
  }

  get size(): number {
    return this.docs.size;
  }

  add(id: string, tokens: string[]): void {
    this.remove(id);
    const termFrequencies = new Map<string, number>();
    for (const t of tokens) termFrequencies.set(t, (termFrequencies.get(t) ?? 0) + 1);
    this.docs.set(id, { length: tokens.length, termFrequencies });
    this.totalLength += tokens.length;
    for (const [term, tf] of termFrequencies) {
      let posting = this.postings.get(term);
      if (!posting) {
        posting = new Map();
        this.postings.set(term, posting);
      }
      posting.set(id, tf);
    }
  }

  remove(id: string): void {
    const doc = this.docs.get(id);
    if (!doc) return;
    for (const term of doc.termFrequencies.keys()) {
      const posting = this.postings.get(term);
      posting?.delete(id);
      if (posting && posting.size === 0) this.postings.delete(term);
    }
    this.totalLength -= doc.length;
    this.docs.delete(id);
  }

  has(id: string): boolean {
    return this.docs.has(id);
  }

  /** Best first (ties by id), only documents sharing at least one query term. Repeated query terms count once. */
  search(queryTokens: string[], limit: number): Bm25Hit[] {
    const n = this.docs.size;
    if (n === 0 || limit <= 0) return [];
    const avgLength = this.totalLength / n || 1;
    const scores = new Map<string, number>();
    for (const term of new Set(queryTokens)) {
      const posting = this.postings.get(term);
      if (!posting) continue;
      const idf = Math.log(1 + (n - posting.size + 0.5) / (posting.size + 0.5));
      for (const [id, tf] of posting) {
        const length = this.docs.get(id)?.length ?? 0;
        const denominator = tf + this.k1 * (1 - this.b + (this.b * length) / avgLength);
        scores.set(id, (scores.get(id) ?? 0) + (idf * tf * (this.k1 + 1)) / denominator);
      }
    }
    return [...scores]
      .map(([id, score]) => ({ id, score }))
      .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit);
  }
}
