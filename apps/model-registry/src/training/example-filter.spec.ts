import { contentHash, filterRatedTurn, scrub } from './example-filter';
import { DEFAULT_PII_PATTERNS, DEFAULT_SETTINGS } from './settings';

const settings = { ...DEFAULT_SETTINGS, min_score: 4, min_chars: 5, max_chars: 200 };

describe('personal data scrubbing (default patterns)', () => {
  it.each([
    ['mail me at kim.minsu+test@example.co.kr today', 'mail me at [X] today'],
    ['전화 010-1234-5678 로 주세요', '전화 [X] 로 주세요'],
    ['call +82 10 1234 5678 now', 'call [X] now'],
    ['주민번호 900101-1234567 입니다', '주민번호 [X] 입니다'],
    ['card 4111 1111 1111 1111 ok', 'card [X] ok'],
  ])('redacts %s', (input, expected) => {
    expect(scrub(input, DEFAULT_PII_PATTERNS, '[X]').text).toBe(expected);
  });

  it('counts redactions and leaves ordinary numbers alone', () => {
    expect(scrub('a@b.io and c@d.io', DEFAULT_PII_PATTERNS, '*')).toEqual({ text: '* and *', redactions: 2 });
    expect(scrub('version 2024 costs 15000 won', DEFAULT_PII_PATTERNS, '*')).toEqual({ text: 'version 2024 costs 15000 won', redactions: 0 });
  });
});

describe('filterRatedTurn', () => {
  it('accepts a good turn with scrubbed text and a content hash', () => {
    const out = filterRatedTurn({ question: ' How do I reach support? ', answer: 'Write to help@acme.com any time.', score: 5 }, settings);
    expect(out).toEqual({
      accepted: true,
      question: 'How do I reach support?',
      answer: 'Write to [REDACTED] any time.',
      redactions: 1,
      contentHash: contentHash('How do I reach support?', 'Write to [REDACTED] any time.'),
    });
  });

  it.each([
    [{ question: 'Long enough question', answer: 'Long enough answer', score: 3 }, 'low_score'],
    [{ question: 'Hi', answer: 'Long enough answer', score: 5 }, 'too_short'],
    [{ question: 'Long enough question', answer: 'x'.repeat(300), score: 5 }, 'too_long'],
  ])('rejects %j as %s', (turn, reason) => {
    expect(filterRatedTurn(turn, settings)).toEqual({ accepted: false, reason });
  });

  it('treats case and spacing differences as the same example', () => {
    expect(contentHash('Hello  World', 'Fine')).toBe(contentHash('hello world', ' fine '));
    expect(contentHash('Hello', 'Fine')).not.toBe(contentHash('Hello', 'Fine!'));
  });
});
