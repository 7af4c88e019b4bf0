import { HashingEmbedder } from '@ragmesh/llm';
import { Bm25Index, searchTokens } from '@ragmesh/text';
import type { ChunkWithDocument } from '../documents/document.model';
import { SearchIndex } from './search-index';
import { topK } from './top-k';

const embedder = new HashingEmbedder();

function chunk(documentId: string, chunkIndex: number, text: string): ChunkWithDocument {
  return {
    chunkId: `${documentId}#${chunkIndex}`,
    documentId,
    chunkIndex,
    text,
    heading: null,
    embedding: embedder.embed(text),
    embeddingModel: embedder.name,
    nextEmbedding: null,
    nextEmbeddingModel: null,
    title: '',
    collection: '',
    publishedAt: null,
    documentMetadata: {},
  };
}

const TEXTS = [
  '직원은 입사 1년 후 15일의 유급 연차 휴가를 받습니다.',
  '병가는 연 10일까지 사용할 수 있습니다.',
  '재택 근무는 주 2일까지 신청할 수 있으며 팀장이 승인합니다.',
  'Employees submit travel expenses within thirty days.',
  '주차장은 지하 2층이며 방문객은 2시간 무료 주차가 가능합니다.',
  '카페는 평일 오전 8시부터 오후 6시까지 운영합니다.',
];

/** BM25 scores by chunk id, as a plain map for comparisons. */
function bm25ById(index: SearchIndex, query: string): Map<string, number> {
  const matches = index.bm25(searchTokens(query));
  const result = new Map<string, number>();
  for (const slot of matches.slots) result.set(index.at(slot)?.chunkId ?? '?', matches.scoreBySlot[slot]);
  return result;
}

describe('SearchIndex', () => {
  it('scores BM25 exactly as @ragmesh/text Bm25Index does', () => {
    const index = new SearchIndex();
    const reference = new Bm25Index();
    TEXTS.forEach((text, i) => {
      index.addChunk(chunk(`d${i}`, 0, text));
      reference.add(`d${i}#0`, searchTokens(text));
    });
    for (const query of ['연차 휴가는 며칠인가요?', '주차 무료', 'travel expenses', '일까지 신청']) {
      const expected = reference.search(searchTokens(query), 100);
      const actual = bm25ById(index, query);
      expect(actual.size).toBe(expected.length);
      for (const hit of expected) expect(actual.get(hit.id)).toBeCloseTo(hit.score, 12);
    }
  });

  it('scales each query term by its weight', () => {
    const index = new SearchIndex();
    TEXTS.forEach((text, i) => index.addChunk(chunk(`d${i}`, 0, text)));
    const tokens = searchTokens('연차 주차');
    // Scores are views on a reused buffer: read each before the next query.
    const plain = index.bm25(tokens).scoreBySlot[0];
    const weighted = index.bm25(tokens, new Map([['차', 0.5], ['연차', 2]])).scoreBySlot[0];
    const byTerm = (term: string) => index.bm25([term]).scoreBySlot[0];
    const d0 = { 연: byTerm('연'), 차: byTerm('차'), 연차: byTerm('연차') };
    expect(plain).toBeCloseTo(d0.연 + d0.차 + d0.연차, 12);
    expect(weighted).toBeCloseTo(d0.연 + 0.5 * d0.차 + 2 * d0.연차, 12);
  });

  it('scores dense as the dot product with every stored vector, 0 for removed chunks', () => {
    const index = new SearchIndex();
    TEXTS.forEach((text, i) => index.addChunk(chunk(`d${i}`, 0, text)));
    const query = embedder.embed('연차 휴가');
    const scores = index.denseScores(query);
    TEXTS.forEach((text, i) => {
      const vector = embedder.embed(text);
      expect(scores[i]).toBeCloseTo(vector.reduce((sum, v, d) => sum + v * query[d], 0), 5);
    });
    expect(Array.from(index.vectorOf('d0#0') ?? [])).toEqual(Array.from(Float32Array.from(embedder.embed(TEXTS[0]))));
    index.removeDocument('d0');
    expect(index.denseScores(query)[0]).toBe(0);
    expect(index.vectorOf('d0#0')).toBeUndefined();
  });

  it('forgets removed and replaced chunks: postings, document frequency, length', () => {
    const index = new SearchIndex();
    const fresh = new SearchIndex();
    TEXTS.forEach((text, i) => index.addChunk(chunk(`d${i}`, 0, text)));
    index.replaceDocument('d1', [chunk('d1', 0, '병가 규정이 바뀌었습니다.'), chunk('d1', 1, '진단서가 필요합니다.')]);
    index.removeDocument('d2');
    [TEXTS[0], TEXTS[3], TEXTS[4], TEXTS[5]].forEach((text, i) => fresh.addChunk(chunk(`d${[0, 3, 4, 5][i]}`, 0, text)));
    fresh.replaceDocument('d1', [chunk('d1', 0, '병가 규정이 바뀌었습니다.'), chunk('d1', 1, '진단서가 필요합니다.')]);

    expect(index.chunkCount).toBe(6);
    expect(index.documentCount).toBe(5);
    for (const query of ['병가 진단서', '재택 근무 신청', '연차 휴가']) {
      expect([...bm25ById(index, query)].sort()).toEqual([...bm25ById(fresh, query)].sort());
    }
    expect(bm25ById(index, '재택').size).toBe(0);
    expect(index.removeDocument('d2')).toBe(false);
  });

  it('reclaims dead slots once they outnumber the live ones, keeping every score', () => {
    const index = new SearchIndex();
    index.addChunk(chunk('keep', 0, TEXTS[0]));
    index.addChunk(chunk('keep2', 0, TEXTS[4]));
    const before = bm25ById(index, '연차 주차');
    const denseBefore = index.denseScores(embedder.embed('연차 주차')).slice(0, 2);
    for (let i = 0; i < 1_100; i += 1) {
      index.addChunk(chunk(`tmp${i}`, 0, `임시 문서 ${i} 연차`));
      index.removeDocument(`tmp${i}`);
    }
    // Compaction renumbered the slots: only the two live chunks remain.
    expect(index.slots).toBeLessThan(1_100);
    expect(index.chunkCount).toBe(2);
    expect([...bm25ById(index, '연차 주차')].sort()).toEqual([...before].sort());
    const dense = index.denseScores(embedder.embed('연차 주차'));
    const bySlot = (id: string) => [0, 1, 2].find((s) => index.at(s)?.chunkId === id) ?? -1;
    expect(dense[bySlot('keep#0')]).toBeCloseTo(denseBefore[0], 6);
    expect(dense[bySlot('keep2#0')]).toBeCloseTo(denseBefore[1], 6);
    expect(index.get('keep#0')?.text).toBe(TEXTS[0]);
  });

  it('skips near-universal query terms of a large index when a rarer term is present', () => {
    const index = new SearchIndex();
    index.skipTermMinDf = 2; // what SKIP_TERM_MIN_DF does at 100k, on a small index
    for (let i = 0; i < 10; i += 1) index.addChunk(chunk(`c${i}`, 0, i === 3 ? '공통 희귀' : '공통 단어'));
    // "공통" is in every chunk: skipped, so only the chunk with the rare term matches.
    expect([...bm25ById(index, '공통 희귀').keys()]).toEqual(['c3#0']);
    // With nothing rarer, the common term is walked rather than matching nothing.
    expect(bm25ById(index, '공통').size).toBe(10);
    index.skipTermDfFraction = Infinity;
    expect(bm25ById(index, '공통 희귀').size).toBe(10);
  });

  it('collects next-model vectors beside the served ones and switches to them in one step', () => {
    const index = new SearchIndex();
    const withNext = (id: string, served: number[], next: number[] | null): ChunkWithDocument => ({
      ...chunk(id, 0, id),
      embedding: served,
      embeddingModel: 'old',
      nextEmbedding: next,
      nextEmbeddingModel: next === null ? null : 'new',
    });
    index.useModel('old');
    index.startNext('new');
    index.addChunk(withNext('a', [1, 0], [0, 0, 1]));
    index.addChunk(withNext('b', [0, 1], null));
    index.addChunk(withNext('gone', [0, 1], [1, 0, 0]));
    index.removeDocument('gone');
    expect(index.missingNext()).toEqual(['b#0']);
    expect(() => index.promoteNext()).toThrow(/1 chunks lack a new vector/);
    // Still serving the old vectors (2 dimensions).
    expect(Array.from(index.denseScores([1, 0]).slice(0, 2))).toEqual([1, 0]);

    index.setNextVector('b#0', 'other-model', [9, 9, 9]);
    index.setNextVector('nobody#0', 'new', [9, 9, 9]);
    expect(index.missingNext()).toEqual(['b#0']);
    index.setNextVector('b#0', 'new', [0, 1, 0]);
    index.promoteNext();

    expect(index.model).toBe('new');
    expect(index.nextModel).toBeUndefined();
    expect(Array.from(index.vectorOf('a#0') ?? [])).toEqual([0, 0, 1]);
    expect(Array.from(index.denseScores([0, 1, 0]).slice(0, 2))).toEqual([0, 1]);
    // A chunk written before the switch with both vectors is indexed by the new one; one with only the old is refused.
    index.addChunk(withNext('late', [1, 0], [1, 0, 0]));
    expect(Array.from(index.vectorOf('late#0') ?? [])).toEqual([1, 0, 0]);
    expect(() => index.addChunk(withNext('stale', [1, 0], null))).toThrow(/has no new vector/);
  });

  it('rejects a vector of another size', () => {
    const index = new SearchIndex();
    index.addChunk(chunk('a', 0, 'x'));
    expect(() => index.addChunk({ ...chunk('b', 0, 'y'), embedding: [1, 0] })).toThrow(/2 dimensions, the index holds 256/);
  });
});

describe('topK', () => {
  it('keeps the k best masked slots, best first, ties by id', () => {
    const scores = [0.5, 0.9, 0.1, 0.9, 0.7, 0.95];
    const mask = Uint8Array.from([1, 1, 1, 1, 1, 0]);
    const ids = ['e', 'b', 'f', 'a', 'c', 'z'];
    expect(topK(scores, mask, (s) => ids[s], 3)).toEqual([3, 1, 4]);
    expect(topK(scores, mask, (s) => ids[s], 10)).toEqual([3, 1, 4, 0, 2]);
    expect(topK(scores, mask, (s) => ids[s], 2, [0, 2, 4, 5])).toEqual([4, 0]);
    expect(topK(scores, mask, (s) => ids[s], 0)).toEqual([]);
  });
});
