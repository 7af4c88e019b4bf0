import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Bm25Index, searchTokens, tokenize } from './index';

interface Fixtures {
  docs: { id: string; text: string }[];
  queries: { id: string; question: string; gold_ids: string[] }[];
}

// A copy of ko-dev's unit-test subset (CC BY-SA 4.0, README and licence beside it), so unit tests need nothing outside the repo.
const FIXTURES_PATH = join(__dirname, '..', 'fixtures', 'ko-dev', 'fixtures.json');
/** Measured: 29 of the 30 fixture queries rank their gold document first (R@1 0.967, MRR@10 0.973). */
const MIN_RECALL_AT_1 = 0.93;

describe('Bm25Index', () => {
  it('finds a particle-attached noun: "서울의 날씨" matches "서울은 맑다"', () => {
    const index = new Bm25Index();
    index.add('seoul', tokenize('서울은 맑다.'));
    index.add('busan', tokenize('부산에는 비가 온다.'));
    index.add('en', tokenize('The weather is nice.'));
    const hits = index.search(tokenize('서울의 날씨'), 10);
    expect(hits[0].id).toBe('seoul');
    expect(hits.map((h) => h.id)).not.toContain('en');
  });

  it('ranks rarer terms higher, sorts best first and respects the limit', () => {
    const index = new Bm25Index();
    index.add('a', ['common', 'rare']);
    index.add('b', ['common']);
    index.add('c', ['common', 'other']);
    const hits = index.search(['common', 'rare'], 2);
    expect(hits.map((h) => h.id)).toEqual(['a', 'b']);
    expect(hits[0].score).toBeGreaterThan(hits[1].score);
    // The +1 idf keeps a term present in every document positive.
    expect(hits[1].score).toBeGreaterThan(0);
  });

  it('computes the textbook score', () => {
    const index = new Bm25Index();
    index.add('a', ['x', 'y']);
    index.add('b', ['y', 'y', 'z', 'w']);
    const idf = Math.log(1 + (2 - 1 + 0.5) / (1 + 0.5));
    const avg = 3;
    const expected = (idf * 1 * 2.2) / (1 + 1.2 * (1 - 0.75 + (0.75 * 2) / avg));
    expect(index.search(['x'], 1)[0].score).toBeCloseTo(expected, 10);
  });

  it('takes k1 and b: b 0 ignores length, k1 0 ignores term frequency', () => {
    const noLength = new Bm25Index({ b: 0 });
    noLength.add('short', ['x']);
    noLength.add('long', ['x', 'y', 'z', 'w', 'v']);
    const [a, b] = noLength.search(['x'], 2);
    expect(a.score).toBeCloseTo(b.score, 12);

    const noTf = new Bm25Index({ k1: 0, b: 0 });
    noTf.add('once', ['x', 'y']);
    noTf.add('twice', ['x', 'x']);
    const scores = noTf.search(['x'], 2).map((h) => h.score);
    expect(scores[0]).toBeCloseTo(scores[1], 12);

    expect(() => new Bm25Index({ b: 1.5 })).toThrow(/b must be between 0 and 1/);
    expect(() => new Bm25Index({ k1: -1 })).toThrow(/k1 must be/);
  });

  it('removes and replaces documents', () => {
    const index = new Bm25Index();
    index.add('a', ['apple']);
    index.add('b', ['banana']);
    expect(index.size).toBe(2);
    index.remove('a');
    expect(index.size).toBe(1);
    expect(index.search(['apple'], 5)).toEqual([]);
    index.add('b', ['cherry']);
    expect(index.size).toBe(1);
    expect(index.search(['banana'], 5)).toEqual([]);
    expect(index.search(['cherry'], 5).map((h) => h.id)).toEqual(['b']);
    index.remove('missing');
    expect(index.size).toBe(1);
  });

  it('returns nothing for an empty index, empty query or zero limit', () => {
    const index = new Bm25Index();
    expect(index.search(['a'], 5)).toEqual([]);
    index.add('a', ['a']);
    expect(index.search([], 5)).toEqual([]);
    expect(index.search(['a'], 0)).toEqual([]);
  });

  it(`ranks the gold document first for ≥ ${MIN_RECALL_AT_1} of the ko-dev fixture queries`, () => {
    const fixtures = JSON.parse(readFileSync(FIXTURES_PATH, 'utf8')) as Fixtures;
    const index = new Bm25Index();
    for (const doc of fixtures.docs) index.add(doc.id, tokenize(doc.text));
    let atOne = 0;
    for (const q of fixtures.queries) {
      const [top] = index.search(tokenize(q.question), 10);
      if (top && q.gold_ids.includes(top.id)) atOne++;
    }
    expect(fixtures.queries).toHaveLength(30);
    expect(atOne / fixtures.queries.length).toBeGreaterThanOrEqual(MIN_RECALL_AT_1);
  });

  it(`ranks the gold document first for ≥ ${MIN_RECALL_AT_1} of the fixture queries with searchTokens`, () => {
    const fixtures = JSON.parse(readFileSync(FIXTURES_PATH, 'utf8')) as Fixtures;
    const index = new Bm25Index();
    for (const doc of fixtures.docs) index.add(doc.id, searchTokens(doc.text));
    const atOne = fixtures.queries.filter((q) => {
      const [top] = index.search(searchTokens(q.question), 10);
      return top !== undefined && q.gold_ids.includes(top.id);
    }).length;
    expect(atOne / fixtures.queries.length).toBeGreaterThanOrEqual(MIN_RECALL_AT_1);
  });
});
