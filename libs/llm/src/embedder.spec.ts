import { DEFAULT_EMBEDDING_DIMENSIONS, HashingEmbedder, cosine } from './index';

describe('HashingEmbedder', () => {
  const embedder = new HashingEmbedder();

  it('produces L2-normalised vectors of the configured size, deterministically', () => {
    const v = embedder.embed('서울의 날씨는 맑다');
    expect(embedder.name).toBe('local-hashing-embedder');
    expect(v).toHaveLength(DEFAULT_EMBEDDING_DIMENSIONS);
    expect(Math.hypot(...v)).toBeCloseTo(1, 10);
    expect(embedder.embed('서울의 날씨는 맑다')).toEqual(v);
    expect(new HashingEmbedder(64).embed('abc')).toHaveLength(64);
  });

  it('puts similar Korean sentences closer than unrelated ones', () => {
    const a = embedder.embed('서울의 날씨는 오늘 맑다');
    const similar = embedder.embed('오늘 서울 날씨가 맑습니다');
    const unrelated = embedder.embed('지하철 요금이 인상되었다');
    expect(cosine(a, similar)).toBeGreaterThan(cosine(a, unrelated) + 0.2);
  });

  it('ignores case, Unicode form and punctuation', () => {
    expect(cosine(embedder.embed('Hello, World!'), embedder.embed('hello world'))).toBeCloseTo(1, 10);
    expect(cosine(embedder.embed('날씨'.normalize('NFD')), embedder.embed('날씨'))).toBeCloseTo(1, 10);
  });

  it('embeds blank text as the zero vector, whose cosine is 0', () => {
    const zero = embedder.embed('  ...  ');
    expect(zero.every((x) => x === 0)).toBe(true);
    expect(cosine(zero, embedder.embed('서울'))).toBe(0);
  });

  it('takes n-gram sizes and sublinear damping as options', () => {
    const unigrams = new HashingEmbedder(64, { ngramSizes: [1] });
    // Same syllables in another order: identical under unigrams only.
    expect(cosine(unigrams.embed('가나다'), unigrams.embed('다나가'))).toBeCloseTo(1, 10);
    expect(cosine(embedder.embed('가나다'), embedder.embed('다나가'))).toBeLessThan(0.9);
    const plain = new HashingEmbedder(64, { ngramSizes: [1] });
    const damped = new HashingEmbedder(64, { ngramSizes: [1], sublinear: true });
    const repeated = '가 가 가 가 가 가 가 가 나';
    // Damping lifts the lone syllable's share of the vector relative to the repeated one.
    expect(cosine(damped.embed(repeated), damped.embed('나'))).toBeGreaterThan(cosine(plain.embed(repeated), plain.embed('나')));
  });

  it('rejects bad dimensions, bad n-gram sizes and mismatched vectors', () => {
    expect(() => new HashingEmbedder(64, { ngramSizes: [] })).toThrow(/ngramSizes/);
    expect(() => new HashingEmbedder(64, { ngramSizes: [0, 2] })).toThrow(/ngramSizes/);
    expect(() => new HashingEmbedder(0)).toThrow(/dimensions/);
    expect(() => cosine([1, 0], [1])).toThrow(/dimension mismatch/);
  });
});
