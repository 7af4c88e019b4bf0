import { monthsCovering, parseTimeExpression, stripParticle, withoutTimeExpression } from '@ragmesh/text';
import { z } from 'zod';

/** The search request a question turns into before retrieval. */
export interface RewrittenQuery {
  /** What retrieval searches for (the question without its time expression, or the LLM's standalone query). */
  query: string;
  keywords: string[];
  /** The answer needs a table, figures, counts or a comparison. */
  tableIntent: boolean;
  timeRange?: RewriteTimeRange;
  source: 'rules' | 'llm' | 'fallback';
  /** LLM calls made (0 for the rules). */
  attempts: number;
}

export interface RewriteTimeRange {
  /** ISO-8601, inclusive. */
  start: string;
  /** ISO-8601, exclusive; the retrieval window's anchor. */
  end: string;
  /** Months back from `end` that cover `start`: the retrieval window's size. */
  months: number;
  /** The words the range was read from (rules only). */
  expression?: string;
  /** Nothing matched inside the window, so retrieval searched without it. */
  ignored?: true;
}

/** Retrieval's upper bound for `time_range_months` (the proto's INVALID_ARGUMENT limit). */
export const MAX_REWRITE_MONTHS = 1200;
export const MAX_KEYWORDS = 8;

const STOPWORDS = new Set(
  (
    'a an the is are was were be been being of in on at to for from by with and or not what which who whom whose when where why how ' +
    'do does did can could would should will shall may might about tell me please show give list find i you he she it we they this that ' +
    'these those my our your their there any some all much many than then so as if into over under per vs ' +
    '무엇 뭐 뭔가 어떻게 어떤 언제 어디 누구 누가 왜 얼마 얼마나 몇 그리고 또는 혹은 및 좀 그 이 저 것 거 수 등 대해 대한 관련 관해'
  ).split(' '),
);

/** Question and request endings ("알려주세요", "있나요", "인가요", "합니까"): never search terms. */
const KOREAN_ENDING = /(?:요|까|니|죠|줘|봐|다|래)$/u;
const WORD = /\p{Script=Hangul}+|[\p{L}\p{N}][\p{L}\p{N}'-]*/gu;

const TABLE_INTENT = new RegExp(
  [
    '표로|테이블|목록|리스트|비교|통계|수치|합계|총합|평균|건수|비율|퍼센트|순위|추이|현황|증감|최대|최소|몇\\s*(?:개|명|건|번|곳|회|년|월)',
    '\\b(?:tables?|tabular|list|compare|comparison|versus|vs\\.?|how many|how much|total|sum|average|mean|median|count|statistics|stats|percentage|percent|ratio|breakdown|rank(?:ing)?|trend|top \\d+|maximum|minimum)\\b',
    '%',
  ].join('|'),
  'iu',
);

export function hasTableIntent(text: string): boolean {
  return TABLE_INTENT.test(text);
}

/** Content words of a query: particles stripped from Korean words, question endings and stopwords dropped, deduplicated. */
export function extractKeywords(text: string, max = MAX_KEYWORDS): string[] {
  const keywords: string[] = [];
  for (const [raw] of text.normalize('NFC').matchAll(WORD)) {
    const isHangul = /^\p{Script=Hangul}+$/u.test(raw);
    const word = isHangul ? (stripParticle(raw) ?? raw) : raw.toLowerCase();
    if (STOPWORDS.has(word) || (isHangul && KOREAN_ENDING.test(raw) && raw.length > 1)) continue;
    if (!isHangul && word.length < 2 && !/\d/.test(word)) continue;
    if (!keywords.includes(word)) keywords.push(word);
    if (keywords.length >= max) break;
  }
  return keywords;
}

/** The local engine's rewrite: the time expression becomes a range and leaves the query; keywords by rule. */
export function ruleBasedRewrite(question: string, now: Date, source: 'rules' | 'fallback' = 'rules', attempts = 0): RewrittenQuery {
  const time = parseTimeExpression(question, now);
  const query = time ? withoutTimeExpression(question, time) : question.trim();
  return {
    query,
    keywords: extractKeywords(query),
    tableIntent: hasTableIntent(question),
    ...(time
      ? { timeRange: { start: time.start.toISOString(), end: time.end.toISOString(), months: Math.min(time.months, MAX_REWRITE_MONTHS), expression: time.text } }
      : {}),
    source,
    attempts,
  };
}

// ---- the LLM rewrite: prompt, parsing, validation ----------------------------------------

const isoDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a YYYY-MM-DD date');

export const llmRewriteSchema = z
  .object({
    query: z.string().trim().min(1, 'must not be empty').max(2000),
    keywords: z.array(z.string().trim().min(1).max(100)).max(20).default([]),
    table_intent: z.boolean().default(false),
    time_range: z
      .object({ start: isoDay, end: isoDay })
      .refine((r) => !Number.isNaN(Date.parse(r.start)) && !Number.isNaN(Date.parse(r.end)), 'must hold real dates')
      .refine((r) => r.start < r.end, 'start must be before end')
      .nullish(),
  })
  .strict();

export function rewriteInstruction(now: Date): string {
  return [
    'You turn a user question into a search request for a document retrieval system.',
    `Today is ${now.toISOString().slice(0, 10)} (UTC).`,
    'Reply with exactly one JSON object and nothing else, of this shape:',
    '{"query": string, "keywords": string[], "table_intent": boolean, "time_range": null | {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}}',
    '- query: the question as a standalone search query in its own language, pronouns resolved from the conversation, without the time expression.',
    `- keywords: at most ${MAX_KEYWORDS} important search terms, in the question's language.`,
    '- table_intent: true when the answer needs a table, figures, counts or a comparison.',
    '- time_range: the period the question is about (end exclusive), or null when it names no period.',
  ].join('\n');
}

export type ParsedRewrite = { ok: true; value: z.infer<typeof llmRewriteSchema> } | { ok: false; reason: string };

/** Reads the model's answer: the first JSON object in it (code fences tolerated), validated. */
export function parseLlmRewrite(text: string): ParsedRewrite {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return { ok: false, reason: 'no JSON object in the answer' };
  let json: unknown;
  try {
    json = JSON.parse(text.slice(start, end + 1));
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const parsed = llmRewriteSchema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, reason: `${issue.path.join('.') || 'answer'}: ${issue.message}` };
}

export function fromLlmRewrite(value: z.infer<typeof llmRewriteSchema>, question: string, attempts: number): RewrittenQuery {
  const range = value.time_range;
  let timeRange: RewriteTimeRange | undefined;
  if (range) {
    const start = new Date(`${range.start}T00:00:00.000Z`);
    const end = new Date(`${range.end}T00:00:00.000Z`);
    timeRange = { start: start.toISOString(), end: end.toISOString(), months: Math.min(monthsCovering(start, end), MAX_REWRITE_MONTHS) };
  }
  return {
    query: value.query,
    keywords: value.keywords.slice(0, MAX_KEYWORDS),
    // The rules see what a model may miss ("몇 건", "%"): either one is enough.
    tableIntent: value.table_intent || hasTableIntent(question),
    ...(timeRange ? { timeRange } : {}),
    source: 'llm',
    attempts,
  };
}

/** The text retrieval searches: the query plus the keywords it does not already contain. */
export function searchText(rewrite: RewrittenQuery): string {
  const lower = rewrite.query.toLowerCase();
  const extra = rewrite.keywords.filter((k) => !lower.includes(k.toLowerCase()));
  return [rewrite.query, ...extra].join(' ');
}
