import { countTokens, normalize, QUERY_STEM_DECAY, queryTermWeights, searchTokens, splitSentences, stripParticle, tokenize } from './index';

describe('normalize', () => {
  it('composes decomposed Hangul, collapses whitespace and lowercases latin', () => {
    const decomposed = '서울'.normalize('NFD');
    expect(decomposed).not.toBe('서울');
    expect(normalize(`  ${decomposed}  Is\n\tSUNNY `)).toBe('서울 is sunny');
  });
});

describe('tokenize', () => {
  it('turns a Hangul run into bigrams, the short run itself and its particle-stripped stem', () => {
    expect(tokenize('서울의')).toEqual(['서울', '울의', '서울의', '서울']);
  });

  it('keeps a single syllable and strips the longest particle', () => {
    expect(tokenize('책')).toEqual(['책']);
    expect(stripParticle('학교에서')).toBe('학교');
    expect(stripParticle('가')).toBeUndefined();
  });

  it('indexes long runs by bigrams only, but adds a short stem', () => {
    const tokens = tokenize('대한민국에서');
    expect(tokens).toEqual(['대한', '한민', '민국', '국에', '에서', '대한민국']);
    expect(tokens).not.toContain('대한민국에서');
  });

  it('lowercases latin and digit words and drops punctuation', () => {
    expect(tokenize('Hello, World! GPT-4o costs 3.14$ — ok?')).toEqual(['hello', 'world', 'gpt', '4o', 'costs', '3', '14', 'ok']);
  });

  it('matches the same syllables whatever the Unicode form', () => {
    expect(tokenize('날씨'.normalize('NFD'))).toEqual(tokenize('날씨'));
  });

  it('returns nothing for empty or punctuation-only input', () => {
    expect(tokenize('')).toEqual([]);
    expect(tokenize(' ... !? ')).toEqual([]);
  });

  it('splits digits and latin letters glued to Hangul from the Hangul run', () => {
    // "2층침대" used to be one opaque token that only the identical string could match.
    expect(tokenize('2층침대')).toEqual(['2', '층침', '침대', '층침대']);
    expect(tokenize('007이')).toEqual(['007', '이']);
  });
});

describe('searchTokens', () => {
  it('turns a Hangul run into its syllables and syllable bigrams', () => {
    expect(searchTokens('서울의')).toEqual(['서', '울', '의', '서울', '울의']);
    expect(searchTokens('책')).toEqual(['책']);
  });

  it('lets a spaced and an unspaced compound share every Hangul token', () => {
    const spaced = new Set(searchTokens('2층 침대'));
    const glued = new Set(searchTokens('2층침대'));
    for (const t of spaced) expect(glued).toContain(t);
    expect(glued).toContain('침대');
  });

  it('keeps latin/digit words whole and lowercased, drops punctuation, is NFC-stable', () => {
    expect(searchTokens('GPT-4o 모델!')).toEqual(['gpt', '4o', '모', '델', '모델']);
    expect(searchTokens('날씨'.normalize('NFD'))).toEqual(searchTokens('날씨'));
    expect(searchTokens(' ... ')).toEqual([]);
  });
});

describe('queryTermWeights', () => {
  it('weighs each search token by its position in its word, stems first', () => {
    const d = QUERY_STEM_DECAY;
    const weights = queryTermWeights('했습니다 GPT');
    expect([...weights.keys()].sort()).toEqual([...new Set(searchTokens('했습니다 GPT'))].sort());
    expect(weights.get('했')).toBe(1);
    expect(weights.get('했습')).toBe(1);
    expect(weights.get('습')).toBeCloseTo(d, 12);
    expect(weights.get('니다')).toBeCloseTo(d ** 2, 12);
    expect(weights.get('다')).toBeCloseTo(d ** 3, 12);
    expect(weights.get('gpt')).toBe(1);
  });

  it('keeps the largest weight of a token seen in several words', () => {
    const weights = queryTermWeights('우리 집은 집');
    expect(weights.get('집')).toBe(1);
    expect(weights.get('리')).toBeCloseTo(QUERY_STEM_DECAY, 12);
  });
});

describe('countTokens', () => {
  it('follows the documented rule', () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('   ')).toBe(0);
    expect(countTokens('안녕하세요')).toBe(4); // 5 syllables / 1.5 = 3.33 → 4
    expect(countTokens('맑다')).toBe(2); // 2 / 1.5 = 1.33 → 2
    expect(countTokens('가나다')).toBe(2); // exactly 2, no float drift
    expect(countTokens('hello world')).toBe(3); // 2 × 1.3 = 2.6 → 3
    expect(countTokens('123456')).toBe(2);
    expect(countTokens('다.')).toBe(2); // 0.67 + 1 for the period
  });

  it('grows with the text', () => {
    expect(countTokens('서울은 맑다. 부산은 흐리다.')).toBeGreaterThan(countTokens('서울은 맑다.'));
  });
});

describe('splitSentences', () => {
  it('splits Korean endings, with or without a following space', () => {
    expect(splitSentences('오늘은 맑다. 내일은 비가 와요.정말요? 네!')).toEqual(['오늘은 맑다.', '내일은 비가 와요.', '정말요?', '네!']);
  });

  it('keeps decimals, abbreviations and initials inside the sentence', () => {
    expect(splitSentences('Dr. Kim measured 3.14 cm, e.g. small. J. Smith agreed.')).toEqual([
      'Dr. Kim measured 3.14 cm, e.g. small.',
      'J. Smith agreed.',
    ]);
  });

  it('treats every line as a sentence and keeps closing quotes with their sentence', () => {
    expect(splitSentences('- 첫째 항목\n- 둘째 항목\n그는 "좋다."라고 말했다. 끝。')).toEqual([
      '- 첫째 항목',
      '- 둘째 항목',
      '그는 "좋다."라고 말했다.',
      '끝。',
    ]);
  });

  it('returns nothing for blank input', () => {
    expect(splitSentences('')).toEqual([]);
    expect(splitSentences('\n  \n')).toEqual([]);
  });
});
