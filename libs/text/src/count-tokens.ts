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

const PIECE = /(\p{Script=Hangul}+)|(\p{N}+)|([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}])|([\p{L}\p{M}]+)|(\S)/gu;

export function estimateTokens(text: string): number {
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

export function countTokens(text: string): number {
  // The epsilon absorbs float drift (3 × 1/1.5 must count 2, not 3).
  return Math.max(0, Math.ceil(estimateTokens(text) - 1e-9));
}
