import { fuse, minMaxScale, RRF_K } from './fusion';

describe('minMaxScale', () => {
  it('maps the lowest value to 0 and the highest to 1, linearly between', () => {
    expect(minMaxScale([2, 4, 6])).toEqual([0, 0.5, 1]);
    expect(minMaxScale([-1, 0, 1])).toEqual([0, 0.5, 1]);
  });

  it('has no spread to scale when all values are equal: positive → 1, zero → 0', () => {
    expect(minMaxScale([3, 3])).toEqual([1, 1]);
    expect(minMaxScale([0, 0])).toEqual([0, 0]);
    expect(minMaxScale([])).toEqual([]);
  });
});

describe('fuse', () => {
  const candidates = [
    { id: 'a', bm25: 10, dense: 0.2 }, // best lexical, worst semantic
    { id: 'b', bm25: 0, dense: 0.8 }, // semantic only
    { id: 'c', bm25: 5, dense: 0.5 },
  ];

  it('fuses min-max scaled scores as 0.6 * bm25 + 0.4 * dense, best first', () => {
    const fused = fuse(candidates, { method: 'minmax', bm25Weight: 0.6 });
    expect(fused.map((f) => f.id)).toEqual(['a', 'c', 'b']);
    const byId = Object.fromEntries(fused.map((f) => [f.id, f]));
    expect(byId.a).toEqual({ id: 'a', score: 0.6, bm25: 1, dense: 0 });
    expect(byId.b).toEqual({ id: 'b', score: 0.4, bm25: 0, dense: 1 });
    expect(byId.c.bm25).toBeCloseTo(0.5);
    expect(byId.c.dense).toBeCloseTo(0.5);
    expect(byId.c.score).toBeCloseTo(0.6 * 0.5 + 0.4 * 0.5);
  });

  it('follows the weight: all dense puts the semantic match first', () => {
    const fused = fuse(candidates, { method: 'minmax', bm25Weight: 0 });
    expect(fused.map((f) => f.id)).toEqual(['b', 'c', 'a']);
  });

  it('breaks ties by id so pages are stable', () => {
    const fused = fuse(
      [
        { id: 'z', bm25: 1, dense: 1 },
        { id: 'y', bm25: 1, dense: 1 },
      ],
      { method: 'minmax', bm25Weight: 0.6 },
    );
    expect(fused.map((f) => f.id)).toEqual(['y', 'z']);
  });

  it('with RRF scores by rank; a chunk without lexical match gets no BM25 term', () => {
    const fused = fuse(candidates, { method: 'rrf', bm25Weight: 0.5 });
    const byId = Object.fromEntries(fused.map((f) => [f.id, f.score]));
    // bm25 ranks: a 1, c 2, b none; dense ranks: b 1, c 2, a 3.
    expect(byId.a).toBeCloseTo(0.5 / (RRF_K + 1) + 0.5 / (RRF_K + 3));
    expect(byId.b).toBeCloseTo(0.5 / (RRF_K + 1));
    expect(byId.c).toBeCloseTo(0.5 / (RRF_K + 2) + 0.5 / (RRF_K + 2));
    expect(fused[0].id).toBe('a');
  });
});
