import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIGITS_PER_TOKEN, estimateTokens, HANGUL_CHARS_PER_TOKEN, LATIN_TOKENS_PER_WORD } from './count-tokens';

/** The regex scan estimateTokens replaced: the new loop must count exactly this, float for float. */
const PIECE = /(\p{Script=Hangul}+)|(\p{N}+)|([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}])|([\p{L}\p{M}]+)|(\S)/gu;
function regexEstimate(text: string): number {
  let total = 0;
  for (const m of text.normalize('NFC').matchAll(PIECE)) {
    if (m[1] !== undefined) total += Array.from(m[1]).length / HANGUL_CHARS_PER_TOKEN;
    else if (m[2] !== undefined) total += Math.ceil(m[2].length / DIGITS_PER_TOKEN);
    else if (m[3] !== undefined) total += 1;
    else if (m[4] !== undefined) total += LATIN_TOKENS_PER_WORD;
    else total += 1;
  }
  return total;
}

const fixtures = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'ko-dev', 'fixtures.json'), 'utf8')) as { docs: { text: string }[]; queries: { text?: string; query?: string }[] };

/** Characters where the pieces' rules meet: every class, their mixtures, and what NFC changes. */
const ALPHABET = [
  ...'가나다한글맑다쀍ㄱㅏㅎ', // syllables and compatibility jamo
  '\u1100', '\u1161', '\u11a8', // conjoining jamo: NFC composes them into a syllable
  '\u3260', '\u321d', // circled / parenthesized Hangul (symbols of Hangul script)
  ...'0123456789', '٣', '５', '½', 'Ⅻ', '〇', '𝟘', // digits of other scripts, fractions, roman and ideographic numerals, an astral digit
  ...'漢字語ひらがなカタカナ', '𠀀', // ideographs, kana, an astral ideograph
  ...'abcXYZéßжя', 'e\u0301', '\u0301', // Latin, Cyrillic, a decomposed accent, a bare combining mark
  ...'.,!?「」()%-_/@#', '😀', '👍🏽', // punctuation, symbols, emoji (astral, with a modifier)
  ' ', '\t', '\n', '\u00a0', '\u3000', '\u2028', '\ufeff', // spaces JavaScript's \s knows
  '\ud800', '\udc00', // lone surrogates
];

function randomText(random: () => number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i += 1) text += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return text;
}

/** Small deterministic PRNG (mulberry32), so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('estimateTokens', () => {
  it('counts exactly what the regex scan counted, on Korean, English and mixed text', () => {
    const samples = [
      '',
      '서울은 맑다. 부산은 흐리다.',
      'The quick brown fox jumps over the lazy dog 12345 times.',
      'abc한글 漢字abc 한글abc 123abc abc123 ３２１',
      '2024년 5월 1일부터 2024년 5월 31일까지 챌린지 3개에 참여해 목표 82회 중 52회를 달성했습니다(달성률 63%). 「Read 20 pages」은(는) 가장 낮았습니다.',
      'ragmesh-feedback-activity/v1\n{"memberId":"m-1","activity":{"challenges":[{"title":"물 2리터 마시기","category":"health","achieved":25,"total":31}]}}',
      '\u1100\u1161\u11a8 e\u0301 \u0301abc 😀👍🏽 \ud800x \u3260\u321d',
      ...fixtures.docs.map((d) => d.text),
    ];
    for (const text of samples) expect([text, estimateTokens(text)]).toEqual([text, regexEstimate(text)]);
  });

  it('counts exactly what the regex scan counted, on random mixtures of every character class', () => {
    const random = prng(20_261_123);
    for (let i = 0; i < 3_000; i += 1) {
      const text = randomText(random, 1 + Math.floor(random() * 40));
      expect([text, estimateTokens(text)]).toEqual([text, regexEstimate(text)]);
    }
  });
});
