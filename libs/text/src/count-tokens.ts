/**
 * Approximation of model (BPE) tokens, used for chunk sizes and for usage when the engine
 * has no tokenizer. The rule, measured roughly against Llama-3 / GPT-4o class tokenizers:
 * - Hangul: 1 token per HANGUL_CHARS_PER_TOKEN syllables (modern vocabularies hold many
 *   common syllables and some two-syllable pieces);
 * - other words (Latin, Cyrillic, ...): LATIN_TOKENS_PER_WORD per word (sub-word splits);
 * - digits: 1 token per DIGITS_PER_TOKEN digits (tokenizers group up to 3 digits);
 * - CJK ideographs/kana: 1 token each;
 * - any other non-space character (punctuation, symbols): 1 token each.
 * The sum is rounded up, so any non-blank text counts at least 1 and "" counts 0.
 */
export const HANGUL_CHARS_PER_TOKEN = 1.5;
export const LATIN_TOKENS_PER_WORD = 1.3;
export const DIGITS_PER_TOKEN = 3;

/*
 * The text is cut into the pieces of this pattern, first alternative first at each position:
 *   /(\p{Script=Hangul}+)|(\p{N}+)|([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}])|([\p{L}\p{M}]+)|(\S)/gu
 * A word run ([\p{L}\p{M}]+) takes Hangul and Han letters that follow it too ("abc한글" is one
 * word). Scanning with that regex cost more than everything else the local engines do per
 * request, so the same pieces are found here by a loop over code points whose classes are
 * looked up in a table, filled from these one-character patterns the first time a code point is seen.
 */
const HANGUL = 1;
const NUMBER = 2;
const HAN_KANA = 4;
const LETTER_OR_MARK = 8;
const SPACE = 16;
/** Set on every classified code point, so 0 in the table means "not classified yet". */
const CLASSIFIED = 32;

const CLASS_PATTERNS: readonly [RegExp, number][] = [
  [/^\p{Script=Hangul}$/u, HANGUL],
  [/^\p{N}$/u, NUMBER],
  [/^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]$/u, HAN_KANA],
  [/^[\p{L}\p{M}]$/u, LETTER_OR_MARK],
  [/^\s$/u, SPACE],
];

function classify(codePoint: number): number {
  // A lone surrogate stays one code point, as the /u pattern reads it.
  const char = String.fromCodePoint(codePoint);
  let bits = CLASSIFIED;
  for (const [pattern, bit] of CLASS_PATTERNS) if (pattern.test(char)) bits |= bit;
  return bits;
}

/** The BMP's classes, filled lazily (64 KiB). Astral code points (emoji, rare ideographs) are classified each time. */
const BMP_CLASSES = new Uint8Array(0x10000);

function classOf(codePoint: number): number {
  if (codePoint > 0xffff) return classify(codePoint);
  let bits = BMP_CLASSES[codePoint];
  if (bits === 0) bits = BMP_CLASSES[codePoint] = classify(codePoint);
  return bits;
}

export function estimateTokens(text: string): number {
  const s = text.normalize('NFC');
  const n = s.length;
  let total = 0;
  let i = 0;
  while (i < n) {
    const codePoint = s.codePointAt(i) as number;
    const bits = classOf(codePoint);
    const width = codePoint > 0xffff ? 2 : 1;
    if (bits & SPACE) {
      i += width;
    } else if (bits & HANGUL) {
      // Code points, not UTF-16 units.
      let chars = 0;
      while (i < n) {
        const next = s.codePointAt(i) as number;
        if (!(classOf(next) & HANGUL)) break;
        chars += 1;
        i += next > 0xffff ? 2 : 1;
      }
      total += chars / HANGUL_CHARS_PER_TOKEN;
    } else if (bits & NUMBER) {
      // UTF-16 units, as the regex's match length counts them.
      const start = i;
      i = endOfRun(s, i, NUMBER);
      total += Math.ceil((i - start) / DIGITS_PER_TOKEN);
    } else if (bits & HAN_KANA) {
      total += 1;
      i += width;
    } else if (bits & LETTER_OR_MARK) {
      i = endOfRun(s, i, LETTER_OR_MARK);
      total += LATIN_TOKENS_PER_WORD;
    } else {
      total += 1;
      i += width;
    }
  }
  return total;
}

/** Index after the run of code points of class `bit` that starts at `i`. */
function endOfRun(s: string, i: number, bit: number): number {
  const n = s.length;
  while (i < n) {
    const codePoint = s.codePointAt(i) as number;
    if (!(classOf(codePoint) & bit)) break;
    i += codePoint > 0xffff ? 2 : 1;
  }
  return i;
}

export function countTokens(text: string): number {
  // The epsilon absorbs float drift (3 × 1/1.5 must count 2, not 3).
  return Math.max(0, Math.ceil(estimateTokens(text) - 1e-9));
}
