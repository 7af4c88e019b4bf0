/** Words that end with a period without ending the sentence (compared lowercased, without the dot). */
export const ABBREVIATIONS: ReadonlySet<string> = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'vs', 'etc', 'e.g', 'i.e', 'cf', 'no', 'vol',
  'fig', 'inc', 'ltd', 'co', 'corp', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept',
  'oct', 'nov', 'dec', 'u.s', 'u.k', 'a.m', 'p.m', 'approx', 'dept', 'est',
]);

const TERMINATORS = new Set(['.', '?', '!', '。', '？', '！', '…']);
const CLOSERS = new Set(['"', "'", ')', ']', '}', '”', '’', '」', '』', '》', '〉']);
const HANGUL = /\p{Script=Hangul}/u;

/**
 * Splits text into sentences: every line is at least one sentence (lists and headings
 * have no final period), and inside a line a sentence ends at . ? ! 。 … (with any closing
 * quotes/brackets) followed by whitespace or the end. Decimals (3.14), abbreviations
 * (Dr., e.g.) and initials (J. Smith) do not end a sentence. Korean writers sometimes omit
 * the space after "다." / "요.", so a period between two Hangul syllables also ends one.
 */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  for (const line of text.normalize('NFC').split(/\r?\n/u)) {
    for (const s of splitLine(line)) {
      const trimmed = s.replace(/\s+/gu, ' ').trim();
      if (trimmed) sentences.push(trimmed);
    }
  }
  return sentences;
}

function splitLine(line: string): string[] {
  const chars = Array.from(line);
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < chars.length) {
    if (!TERMINATORS.has(chars[i])) {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < chars.length && (TERMINATORS.has(chars[end]) || CLOSERS.has(chars[end]))) end++;
    const next = chars[end];
    const atBoundary = next === undefined || /\s/u.test(next);
    const glued = chars[i] === '.' && end === i + 1 && next !== undefined && HANGUL.test(next) && i > 0 && HANGUL.test(chars[i - 1]);
    if ((atBoundary || glued) && !(chars[i] === '.' && end === i + 1 && isNonFinalPeriod(chars, i))) {
      out.push(chars.slice(start, end).join(''));
      start = end;
    }
    i = end;
  }
  if (start < chars.length) out.push(chars.slice(start).join(''));
  return out;
}

/** True when the period at `dot` belongs to an abbreviation or an initial. */
function isNonFinalPeriod(chars: string[], dot: number): boolean {
  let j = dot;
  while (j > 0 && !/\s/u.test(chars[j - 1])) j--;
  const word = chars.slice(j, dot).join('').replace(/^[("'“‘[]+/u, '');
  if (!word) return false;
  if (ABBREVIATIONS.has(word.toLowerCase())) return true;
  // A single capital letter ("J. Smith") is an initial, not the end of a sentence.
  return /^\p{Lu}$/u.test(word);
}
