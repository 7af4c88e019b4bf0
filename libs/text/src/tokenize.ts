import { normalize } from './normalize';

/** Hangul runs at most this long are also indexed whole (short words are the ones bigrams blur). */
export const MAX_WHOLE_RUN_CHARS = 4;

/**
 * Common trailing particles (josa), longest first so "에서" wins over "서"-less "에".
 * Stripping them adds a stem token: "서울의" and "서울은" both also yield "서울".
 */
export const KOREAN_PARTICLES: readonly string[] = [
  '에게서', '으로서', '으로써', '에서', '으로', '에게', '까지', '부터', '처럼', '보다', '이나', '이랑',
  '은', '는', '이', '가', '을', '를', '에', '의', '로', '와', '과', '도', '만', '랑',
];

const HANGUL_RUN = /^\p{Script=Hangul}+$/u;
// Hangul runs, then runs of any other letters/marks/digits; everything else (punctuation,
// symbols) separates. The second class excludes Hangul so "2층침대" splits into "2" + "층침대"
// (a mixed run used to become one opaque token that matched nothing but itself).
const WORD = /\p{Script=Hangul}+|(?:(?!\p{Script=Hangul})[\p{L}\p{M}\p{N}])+/gu;

/**
 * Korean-aware tokens for BM25.
 * - Hangul runs → character bigrams, plus the run itself when ≤ MAX_WHOLE_RUN_CHARS,
 *   plus the run with a trailing particle stripped (when that stem is also short).
 *   A single-syllable run is kept as is.
 * - Latin/digit words → lowercased words. Punctuation is dropped.
 * Korean has no reliable word boundaries for a dictionary-free tokenizer; bigrams match
 * across inflections and compounds, the whole-run/stem tokens reward exact word matches.
 */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const match of normalize(text).matchAll(WORD)) {
    const word = match[0];
    if (HANGUL_RUN.test(word)) {
      pushHangulRun(word, tokens);
    } else {
      tokens.push(word);
    }
  }
  return tokens;
}

function pushHangulRun(run: string, out: string[]): void {
  const chars = Array.from(run);
  if (chars.length === 1) {
    out.push(run);
    return;
  }
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i] + chars[i + 1]);
  if (chars.length <= MAX_WHOLE_RUN_CHARS) out.push(run);
  const stem = stripParticle(run);
  if (stem !== undefined && Array.from(stem).length <= MAX_WHOLE_RUN_CHARS) out.push(stem);
}

/** The run without its trailing particle, or undefined when it has none (or would become empty). */
export function stripParticle(run: string): string | undefined {
  for (const particle of KOREAN_PARTICLES) {
    if (run.length > particle.length && run.endsWith(particle)) return run.slice(0, -particle.length);
  }
  return undefined;
}

/**
 * The tokens retrieval's BM25 indexes (and the benchmark feeds to peer libraries): every
 * Hangul syllable and every syllable bigram of a Hangul run, latin/digit words lowercased.
 * Measured on ko-dev (docs/architecture.md, "Retrieval (issue 4)"): syllable unigrams +
 * bigrams beat bigrams + whole runs + particle stems (R@1 0.931 vs 0.905 with BM25 alone);
 * whole-run and stem tokens over-reward exact surface forms, which paraphrases rarely share,
 * while unigrams keep one-syllable nouns (방, 집, 층) and inflected stems matchable.
 */
export function searchTokens(text: string): string[] {
  const tokens: string[] = [];
  for (const match of normalize(text).matchAll(WORD)) {
    const word = match[0];
    if (!HANGUL_RUN.test(word)) {
      tokens.push(word);
      continue;
    }
    const chars = Array.from(word);
    tokens.push(...chars);
    for (let i = 0; i + 1 < chars.length; i++) tokens.push(chars[i] + chars[i + 1]);
  }
  return tokens;
}

/**
 * How much a query term counts at each later position in its Hangul run (eojeol): the weight
 * of a syllable or bigram starting at syllable i is QUERY_STEM_DECAY^i. A Korean word is its
 * stem first and its endings and particles after (했다 / 했어요 / 했습니다), so the first
 * syllables carry the content. Measured on ko-dev with BM25 alone (docs/architecture.md,
 * "Retrieval"): 0.6 lifts R@1 0.931 → 0.936 and MRR@10 0.951 → 0.955, on each half of the
 * queries alike.
 */
export const QUERY_STEM_DECAY = 0.6;

/**
 * Per-term weights for a query's `searchTokens`: the largest weight of each token over its
 * occurrences (QUERY_STEM_DECAY^position in its Hangul run; latin/digit words 1).
 */
export function queryTermWeights(text: string, decay = QUERY_STEM_DECAY): Map<string, number> {
  const weights = new Map<string, number>();
  const put = (token: string, weight: number): void => {
    if (weight > (weights.get(token) ?? 0)) weights.set(token, weight);
  };
  for (const match of normalize(text).matchAll(WORD)) {
    const word = match[0];
    if (!HANGUL_RUN.test(word)) {
      put(word, 1);
      continue;
    }
    const chars = Array.from(word);
    chars.forEach((c, i) => put(c, decay ** i));
    for (let i = 0; i + 1 < chars.length; i++) put(chars[i] + chars[i + 1], decay ** i);
  }
  return weights;
}
