import { Injectable } from '@nestjs/common';
import { BM25_B, BM25_K1, searchTokens } from '@ragmesh/text';
import { type ChunkWithDocument, indexedText, vectorBy, visibleMetadata } from '../documents/document.model';

export interface IndexedChunk {
  chunkId: string;
  documentId: string;
  chunkIndex: number;
  title: string;
  text: string;
  collection: string;
  /** What callers see and filter on (document metadata + collection, published_at, heading). */
  metadata: Record<string, string>;
  /** The document's published_at in epoch ms, for the time filter; null when unknown. */
  publishedAtMs: number | null;
}

/**
 * BM25 matches: the matching slots (in no particular order) and a per-slot score array
 * (0 = no match). Both are views on buffers the next query overwrites.
 */
export interface Bm25Matches {
  slots: Int32Array;
  scoreBySlot: Float64Array;
}

const INITIAL_SLOTS = 1_024;
const INITIAL_POSTINGS = 4;
/** Term frequencies are stored in 16 bits; no real chunk repeats a token 65k times. */
const MAX_TF = 0xffff;
/**
 * Query terms in more than this fraction of the chunks are skipped (when another query term
 * is rarer): their idf is at most ln 2, a fraction of a rare term's, yet their postings are
 * most of the work (measured at 100k chunks: 70% of the postings walked per query).
 */
export const SKIP_TERM_DF_FRACTION = 0.5;
/** ...but only when skipping saves real work: short postings are always walked. */
export const SKIP_TERM_MIN_DF = 5_000;
/** Dead slots are reclaimed (slots renumbered) once they outnumber the live ones by this much. */
const COMPACT_MIN_DEAD_SLOTS = 1_024;

/** One term's postings: parallel growable arrays of slot and term frequency. */
class Postings {
  slots = new Int32Array(INITIAL_POSTINGS);
  tfs = new Uint16Array(INITIAL_POSTINGS);
  length = 0;
  /** Live entries only (dead slots stay until the list is compacted). */
  df = 0;

  push(slot: number, tf: number): void {
    if (this.length === this.slots.length) {
      const slots = new Int32Array(this.length * 2);
      slots.set(this.slots);
      this.slots = slots;
      const tfs = new Uint16Array(this.length * 2);
      tfs.set(this.tfs);
      this.tfs = tfs;
    }
    this.slots[this.length] = slot;
    this.tfs[this.length] = Math.min(tf, MAX_TF);
    this.length += 1;
    this.df += 1;
  }

  /** Drops dead entries and renumbers the live ones (`map[old]`, -1 = dead). */
  remap(map: Int32Array): void {
    let w = 0;
    for (let r = 0; r < this.length; r += 1) {
      const slot = map[this.slots[r]];
      if (slot < 0) continue;
      this.slots[w] = slot;
      this.tfs[w] = this.tfs[r];
      w += 1;
    }
    this.length = w;
  }
}

/**
 * The in-memory hybrid index of this replica. PostgreSQL is the source of truth; this is
 * rebuilt from it at start. Laid out for 100k+ chunks: every chunk has an integer slot;
 * BM25 postings are typed arrays of slots; vectors are stored dimension-major (one
 * Float32Array column per dimension), so a sparse query vector (the hashing embedder's, a
 * few dozen non-zero dimensions) is scored against every chunk by walking only its non-zero
 * columns. Removal marks the slot dead; dead slots are reclaimed in one pass when they
 * outnumber the live ones.
 */
@Injectable()
export class SearchIndex {
  readonly k1 = BM25_K1;
  readonly b = BM25_B;
  /** Tunable by the benchmark; the service uses the defaults. */
  skipTermDfFraction = SKIP_TERM_DF_FRACTION;
  skipTermMinDf = SKIP_TERM_MIN_DF;
  private readonly slotByChunk = new Map<string, number>();
  private readonly chunkIdsByDocument = new Map<string, string[]>();
  private readonly postings = new Map<string, Postings>();
  private chunksBySlot: (IndexedChunk | undefined)[] = [];
  private lengths = new Float64Array(INITIAL_SLOTS);
  private columns: Float32Array[] = [];
  private capacity = INITIAL_SLOTS;
  private dimensions = 0;
  private slotCount = 0;
  private totalLength = 0;
  private deadSlots = 0;
  /** Scratch buffers reused by every query (search is synchronous: no interleaving). */
  private scratchScores = new Float64Array(INITIAL_SLOTS);
  private touchedCount = 0;
  private scratchTouched = new Int32Array(INITIAL_SLOTS);
  /** 1 for a live slot: a typed-array test is cheaper in the postings loop than the chunk lookup. */
  private alive = new Uint8Array(INITIAL_SLOTS);
  private scratchDense = new Float64Array(INITIAL_SLOTS);
  private scratchMask = new Uint8Array(INITIAL_SLOTS);
  /** The embedding model of the columns ('' until the first chunk or useModel decides). */
  private columnsModel = '';
  /** During a model change: every live chunk's vector by the next model, keyed by chunk id. */
  private shadow: { model: string; vectors: Map<string, Float32Array> } | undefined;

  /** The embedding model whose vectors are scored (queries must be embedded by it). */
  get model(): string {
    return this.columnsModel;
  }

  /** The model being collected for a switch; undefined when none. */
  get nextModel(): string | undefined {
    return this.shadow?.model;
  }

  /** Chooses the served model of an empty index (the loader does, before adding anything). */
  useModel(model: string): void {
    if (this.slotCount > 0) throw new Error('SearchIndex: the model of a non-empty index changes only by promoteNext()');
    this.columnsModel = model;
  }

  /** Starts collecting vectors by `model` beside the served ones (from chunks that carry them, and setNextVector). */
  startNext(model: string): void {
    if (model === this.columnsModel) return;
    if (this.shadow?.model !== model) this.shadow = { model, vectors: new Map() };
  }

  /** Records a chunk's vector by the next model; ignored for an unknown chunk or another model. */
  setNextVector(chunkId: string, model: string, vector: ArrayLike<number>): void {
    if (this.shadow?.model !== model || !this.slotByChunk.has(chunkId)) return;
    this.shadow.vectors.set(chunkId, Float32Array.from(vector));
  }

  /** Live chunks that still lack a vector by the next model. */
  missingNext(): string[] {
    const shadow = this.shadow;
    if (shadow === undefined) return [];
    return [...this.slotByChunk.keys()].filter((id) => !shadow.vectors.has(id));
  }

  /**
   * Serves the next model's vectors from now on, in one synchronous step (no search sees a
   * mix). Every live chunk must have one (see missingNext).
   */
  promoteNext(): void {
    const shadow = this.shadow;
    if (shadow === undefined) return;
    const missing = this.missingNext();
    if (missing.length > 0) throw new Error(`SearchIndex: ${missing.length} chunks lack a ${shadow.model} vector (e.g. ${missing[0]})`);
    const first = shadow.vectors.values().next();
    const dimensions = first.done === true ? this.dimensions : first.value.length;
    const columns = Array.from({ length: dimensions }, () => new Float32Array(this.capacity));
    for (const [chunkId, slot] of this.slotByChunk) {
      const vector = shadow.vectors.get(chunkId);
      if (vector === undefined || vector.length !== dimensions) {
        throw new RangeError(`SearchIndex: ${shadow.model} vector of ${chunkId} has ${vector?.length} dimensions, expected ${dimensions}`);
      }
      for (let d = 0; d < dimensions; d += 1) columns[d][slot] = vector[d];
    }
    this.columns = columns;
    this.dimensions = dimensions;
    this.columnsModel = shadow.model;
    this.shadow = undefined;
  }

  get chunkCount(): number {
    return this.slotByChunk.size;
  }

  get documentCount(): number {
    return this.chunkIdsByDocument.size;
  }

  /** Slots in use, live or dead: the length of the arrays `denseScores` returns. */
  get slots(): number {
    return this.slotCount;
  }

  /** Replaces everything indexed for the document with these chunks (empty → removed). */
  replaceDocument(documentId: string, chunks: ChunkWithDocument[]): void {
    this.removeDocument(documentId);
    if (chunks.length === 0) return;
    for (const chunk of chunks) this.addChunk(chunk);
  }

  /**
   * Adds (or replaces) one chunk; its document's list grows as chunks arrive in any order. The
   * chunk must carry a vector by the served model; one by the next model is kept aside too.
   */
  addChunk(chunk: ChunkWithDocument): void {
    if (this.columnsModel === '') this.columnsModel = chunk.embeddingModel;
    const embedding = vectorBy(chunk, this.columnsModel);
    if (embedding === undefined) {
      throw new RangeError(`SearchIndex: chunk ${chunk.chunkId} has no ${this.columnsModel} vector (it has ${chunk.embeddingModel})`);
    }
    if (this.slotByChunk.has(chunk.chunkId)) this.removeChunk(chunk.chunkId);
    if (this.dimensions === 0) this.setDimensions(embedding.length);
    if (embedding.length !== this.dimensions) {
      throw new RangeError(`SearchIndex: vector of ${embedding.length} dimensions, the index holds ${this.dimensions}`);
    }
    if (this.slotCount === this.capacity) this.grow();
    const slot = this.slotCount;
    this.slotCount += 1;

    const tokens = searchTokens(indexedText(chunk.title, chunk.text));
    const frequencies = new Map<string, number>();
    for (const t of tokens) frequencies.set(t, (frequencies.get(t) ?? 0) + 1);
    for (const [term, tf] of frequencies) {
      let list = this.postings.get(term);
      if (list === undefined) {
        list = new Postings();
        this.postings.set(term, list);
      }
      list.push(slot, tf);
    }
    this.lengths[slot] = tokens.length;
    this.alive[slot] = 1;
    this.totalLength += tokens.length;
    for (let d = 0; d < this.dimensions; d += 1) this.columns[d][slot] = embedding[d];

    this.chunksBySlot[slot] = {
      chunkId: chunk.chunkId,
      documentId: chunk.documentId,
      chunkIndex: chunk.chunkIndex,
      title: chunk.title,
      text: chunk.text,
      collection: chunk.collection,
      metadata: visibleMetadata(chunk),
      publishedAtMs: chunk.publishedAt === null ? null : chunk.publishedAt.getTime(),
    };
    this.slotByChunk.set(chunk.chunkId, slot);
    const ids = this.chunkIdsByDocument.get(chunk.documentId);
    if (ids === undefined) this.chunkIdsByDocument.set(chunk.documentId, [chunk.chunkId]);
    else if (!ids.includes(chunk.chunkId)) ids.push(chunk.chunkId);
    const next = this.shadow === undefined ? undefined : vectorBy(chunk, this.shadow.model);
    if (next !== undefined) this.setNextVector(chunk.chunkId, this.shadow?.model ?? '', next);
  }

  removeDocument(documentId: string): boolean {
    const ids = this.chunkIdsByDocument.get(documentId);
    if (ids === undefined) return false;
    for (const id of ids) this.removeChunk(id);
    this.chunkIdsByDocument.delete(documentId);
    this.compactIfSparse();
    return true;
  }

  get(chunkId: string): IndexedChunk | undefined {
    const slot = this.slotByChunk.get(chunkId);
    return slot === undefined ? undefined : this.chunksBySlot[slot];
  }

  /** The live chunk in a slot; undefined for a dead (removed) one. */
  at(slot: number): IndexedChunk | undefined {
    return this.chunksBySlot[slot];
  }

  vectorOf(chunkId: string): Float32Array | undefined {
    const slot = this.slotByChunk.get(chunkId);
    if (slot === undefined) return undefined;
    return Float32Array.from(this.columns, (column) => column[slot]);
  }

  /**
   * Okapi BM25 (k1 1.2, b 0.75, the "+1" idf) of every live chunk sharing a query term;
   * the same scores as @ragmesh/text's Bm25Index, except that near-universal terms of a large
   * index are skipped (SKIP_TERM_DF_FRACTION). Repeated query terms count once, scaled by
   * their weight when `weights` gives one (@ragmesh/text queryTermWeights; default 1).
   */
  bm25(queryTokens: string[], weights?: ReadonlyMap<string, number>): Bm25Matches {
    const scores = this.scratchScores;
    const touched = this.scratchTouched;
    // Reset only what the previous query touched: no per-query allocation of slot-sized arrays.
    for (let i = 0; i < this.touchedCount; i += 1) scores[touched[i]] = 0;
    this.touchedCount = 0;
    const live = this.chunkCount;
    if (live === 0) return { slots: touched.subarray(0, 0), scoreBySlot: scores.subarray(0, this.slotCount) };
    const alive = this.alive;
    const lengths = this.lengths;
    const avgLength = this.totalLength / live || 1;
    const k1 = this.k1;
    const lengthNorm = (k1 * this.b) / avgLength;
    const constNorm = k1 * (1 - this.b);
    const lists: Postings[] = [];
    const listWeights: number[] = [];
    for (const term of new Set(queryTokens)) {
      const list = this.postings.get(term);
      if (list === undefined || list.df === 0) continue;
      lists.push(list);
      listWeights.push(weights?.get(term) ?? 1);
    }
    const common = (list: Postings): boolean => list.df > this.skipTermMinDf && list.df > this.skipTermDfFraction * live;
    const anyRare = lists.some((list) => !common(list));
    let count = 0;
    for (let l = 0; l < lists.length; l += 1) {
      const list = lists[l];
      if (anyRare && common(list)) continue;
      const idfK = Math.log(1 + (live - list.df + 0.5) / (list.df + 0.5)) * (k1 + 1) * listWeights[l];
      const slots = list.slots;
      const tfs = list.tfs;
      for (let i = 0; i < list.length; i += 1) {
        const slot = slots[i];
        if (alive[slot] === 0) continue;
        const tf = tfs[i];
        // Every term score is > 0 (the +1 idf, weights > 0), so 0 means "not touched yet".
        if (scores[slot] === 0) {
          touched[count] = slot;
          count += 1;
        }
        scores[slot] += (idfK * tf) / (tf + constNorm + lengthNorm * lengths[slot]);
      }
    }
    this.touchedCount = count;
    return { slots: touched.subarray(0, count), scoreBySlot: scores.subarray(0, this.slotCount) };
  }

  /**
   * Dot product (= cosine: vectors are L2-normalised) of the query with every slot; dead
   * slots score 0. Only the query's non-zero dimensions are walked. The result is a view on a
   * buffer the next call overwrites.
   */
  denseScores(queryVector: ArrayLike<number>): Float64Array {
    const n = this.slotCount;
    // A view on a reused buffer: valid until the next call (search is synchronous).
    const out = this.scratchDense.subarray(0, n);
    out.fill(0);
    const dims = Math.min(this.dimensions, queryVector.length);
    const nonZero: number[] = [];
    for (let d = 0; d < dims; d += 1) if (queryVector[d] !== 0) nonZero.push(d);
    const columns = this.columns;
    // Eight columns per pass: an eighth of the reads and writes of `out` (the loop is memory-bound).
    let i = 0;
    for (; i + 8 <= nonZero.length; i += 8) {
      const c0 = columns[nonZero[i]];
      const c1 = columns[nonZero[i + 1]];
      const c2 = columns[nonZero[i + 2]];
      const c3 = columns[nonZero[i + 3]];
      const c4 = columns[nonZero[i + 4]];
      const c5 = columns[nonZero[i + 5]];
      const c6 = columns[nonZero[i + 6]];
      const c7 = columns[nonZero[i + 7]];
      const q0 = queryVector[nonZero[i]];
      const q1 = queryVector[nonZero[i + 1]];
      const q2 = queryVector[nonZero[i + 2]];
      const q3 = queryVector[nonZero[i + 3]];
      const q4 = queryVector[nonZero[i + 4]];
      const q5 = queryVector[nonZero[i + 5]];
      const q6 = queryVector[nonZero[i + 6]];
      const q7 = queryVector[nonZero[i + 7]];
      for (let slot = 0; slot < n; slot += 1) {
        out[slot] +=
          q0 * c0[slot] + q1 * c1[slot] + q2 * c2[slot] + q3 * c3[slot] + q4 * c4[slot] + q5 * c5[slot] + q6 * c6[slot] + q7 * c7[slot];
      }
    }
    for (; i < nonZero.length; i += 1) {
      const q = queryVector[nonZero[i]];
      const column = columns[nonZero[i]];
      for (let slot = 0; slot < n; slot += 1) out[slot] += q * column[slot];
    }
    return out;
  }

  /** A zeroed per-slot buffer, reused across queries: valid until the next call. */
  maskBuffer(): Uint8Array {
    return this.scratchMask.subarray(0, this.slotCount).fill(0);
  }

  private removeChunk(chunkId: string): void {
    const slot = this.slotByChunk.get(chunkId);
    if (slot === undefined) return;
    const chunk = this.chunksBySlot[slot];
    if (chunk !== undefined) {
      // The chunk's terms are recomputed rather than stored: storing them would double the postings' memory.
      for (const term of new Set(searchTokens(indexedText(chunk.title, chunk.text)))) {
        const list = this.postings.get(term);
        if (list === undefined) continue;
        list.df -= 1;
        if (list.df === 0) this.postings.delete(term);
      }
    }
    this.totalLength -= this.lengths[slot];
    for (let d = 0; d < this.dimensions; d += 1) this.columns[d][slot] = 0;
    this.chunksBySlot[slot] = undefined;
    this.alive[slot] = 0;
    this.slotByChunk.delete(chunkId);
    this.shadow?.vectors.delete(chunkId);
    this.deadSlots += 1;
  }

  private setDimensions(dimensions: number): void {
    this.dimensions = dimensions;
    this.columns = Array.from({ length: dimensions }, () => new Float32Array(this.capacity));
  }

  private grow(): void {
    this.resize(this.capacity * 2);
  }

  private resize(capacity: number): void {
    const copy = <T extends Float32Array | Float64Array | Uint8Array>(from: T, make: (n: number) => T): T => {
      const to = make(capacity);
      to.set(from.subarray(0, Math.min(from.length, capacity)));
      return to;
    };
    this.lengths = copy(this.lengths, (n) => new Float64Array(n));
    this.columns = this.columns.map((column) => copy(column, (n) => new Float32Array(n)));
    this.scratchScores = new Float64Array(capacity);
    this.touchedCount = 0;
    this.scratchTouched = new Int32Array(capacity);
    this.alive = copy(this.alive, (n) => new Uint8Array(n));
    this.scratchDense = new Float64Array(capacity);
    this.scratchMask = new Uint8Array(capacity);
    this.capacity = capacity;
  }

  /** Renumbers the live slots densely once dead ones dominate; O(postings + slots × dims). */
  private compactIfSparse(): void {
    if (this.deadSlots < COMPACT_MIN_DEAD_SLOTS || this.deadSlots < this.chunkCount) return;
    const map = new Int32Array(this.slotCount).fill(-1);
    let next = 0;
    for (let slot = 0; slot < this.slotCount; slot += 1) {
      const chunk = this.chunksBySlot[slot];
      if (chunk === undefined) continue;
      map[slot] = next;
      this.chunksBySlot[next] = chunk;
      this.lengths[next] = this.lengths[slot];
      for (const column of this.columns) column[next] = column[slot];
      this.slotByChunk.set(chunk.chunkId, next);
      next += 1;
    }
    for (const list of this.postings.values()) list.remap(map);
    this.chunksBySlot.length = next;
    this.alive.fill(1, 0, next);
    this.alive.fill(0, next);
    for (const column of this.columns) column.fill(0, next);
    this.slotCount = next;
    this.deadSlots = 0;
  }
}
