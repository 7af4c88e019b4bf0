/**
 * Rule-based reading of Korean and English time expressions in a question ("최근 3개월",
 * "작년 상반기", "2023년 3분기", "last quarter", "H1 2023", "since 2022") into a UTC date range.
 * Pure: the caller passes `now`. Calendar arithmetic is in UTC, like the retrieval time filter.
 */

export type TimeExpressionKind =
  /** A window ending now: "최근 3개월", "last 6 months", "since 2023". */
  | 'rolling'
  /** A named calendar period: "작년", "2023년 상반기", "last quarter". */
  | 'calendar';

export interface TimeExpression {
  /** The span of the input that was read (with its particles / prepositions), for removing it from the query. */
  text: string;
  index: number;
  kind: TimeExpressionKind;
  /** Inclusive start. */
  start: Date;
  /** Exclusive end (may lie after `now` for a period in progress, e.g. "this year"). */
  end: Date;
  /** Where a "months back from the anchor" window ends: `end` for a period, `now` for a rolling window. */
  anchor: Date;
  /** Whole calendar months back from `anchor` that cover `start`; at least 1. */
  months: number;
}

/** "최근" / "recently" with no length: the retrieval service's first widening step. */
export const DEFAULT_RECENT_MONTHS = 3;

/** A rolling window of "a few" / "몇" units. */
const FEW = 3;

type Unit = 'day' | 'week' | 'month' | 'quarter' | 'year';

interface Range {
  kind: TimeExpressionKind;
  start: Date;
  end: Date;
}

interface Rule {
  pattern: RegExp;
  read(m: RegExpExecArray, now: Date): Range | undefined;
}

const DAY_MS = 86_400_000;

const utc = (year: number, month0: number, day = 1): Date => new Date(Date.UTC(year, month0, day));

/** Adds calendar months, clamping the day to the target month's end (Jan 31 + 1 month = Feb 28/29). */
export function addMonths(date: Date, months: number): Date {
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const result = new Date(date.getTime());
  result.setUTCFullYear(y, m, Math.min(date.getUTCDate(), lastDay));
  return result;
}

/** The fewest whole months back from `anchor` whose window reaches `start` (at least 1). */
export function monthsCovering(start: Date, anchor: Date): number {
  let months = (anchor.getUTCFullYear() - start.getUTCFullYear()) * 12 + (anchor.getUTCMonth() - start.getUTCMonth());
  if (addMonths(anchor, -months) > start) months++;
  return Math.max(1, months);
}

function unitMonths(unit: Unit): number {
  if (unit === 'quarter') return 3;
  if (unit === 'year') return 12;
  return 1;
}

function rollingBack(now: Date, count: number, unit: Unit): Range {
  const start =
    unit === 'day' || unit === 'week'
      ? new Date(now.getTime() - count * (unit === 'week' ? 7 : 1) * DAY_MS)
      : addMonths(now, -count * unitMonths(unit));
  return { kind: 'rolling', start, end: now };
}

const monthPeriod = (year: number, month0: number, length = 1): Range => ({
  kind: 'calendar',
  start: utc(year, month0),
  end: utc(year, month0 + length),
});

const quarterOf = (date: Date): number => Math.floor(date.getUTCMonth() / 3);

/** Monday 00:00 UTC of the week holding `date`. */
function weekStart(date: Date): Date {
  const day = (date.getUTCDay() + 6) % 7;
  return utc(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() - day);
}

/** A period named without a year ("3분기", "상반기", "5월") is the latest one that has begun. */
function latestStarted(now: Date, month0: number, length: number): Range {
  const year = utc(now.getUTCFullYear(), month0) > now ? now.getUTCFullYear() - 1 : now.getUTCFullYear();
  return monthPeriod(year, month0, length);
}

/** The current or a previous calendar period: offset 0 = this one, -1 = the one before. */
function relativePeriod(now: Date, unit: Unit, offset: number): Range {
  if (unit === 'week') {
    const start = new Date(weekStart(now).getTime() + offset * 7 * DAY_MS);
    return { kind: 'calendar', start, end: new Date(start.getTime() + 7 * DAY_MS) };
  }
  if (unit === 'day') {
    const start = utc(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + offset);
    return { kind: 'calendar', start, end: new Date(start.getTime() + DAY_MS) };
  }
  if (unit === 'year') return monthPeriod(now.getUTCFullYear() + offset, 0, 12);
  if (unit === 'quarter') return monthPeriod(now.getUTCFullYear(), (quarterOf(now) + offset) * 3, 3);
  return monthPeriod(now.getUTCFullYear(), now.getUTCMonth() + offset, 1);
}

// ---- numbers and units ----------------------------------------------------------------

const KOREAN_NUMBERS: Record<string, number> = {
  한: 1, 하나: 1, 두: 2, 둘: 2, 세: 3, 셋: 3, 석: 3, 네: 4, 넷: 4, 넉: 4, 다섯: 5, 여섯: 6,
  일곱: 7, 여덟: 8, 아홉: 9, 열: 10, 열한: 11, 열두: 12, 몇: FEW,
};
const ENGLISH_NUMBERS: Record<string, number> = {
  a: 1, an: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9,
  ten: 10, eleven: 11, twelve: 12, few: FEW, 'a few': FEW, several: FEW,
};
const ORDINALS: Record<string, number> = { first: 1, '1st': 1, second: 2, '2nd': 2, third: 3, '3rd': 3, fourth: 4, '4th': 4 };
const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

function count(raw: string): number | undefined {
  const key = raw.toLowerCase().replace(/\s+/g, ' ').trim();
  if (/^\d+$/.test(key)) return Number(key);
  return KOREAN_NUMBERS[key] ?? ENGLISH_NUMBERS[key];
}

function koreanUnit(raw: string): Unit {
  if (raw === '일') return 'day';
  if (raw.startsWith('주')) return 'week';
  if (raw === '분기') return 'quarter';
  if (raw === '년' || raw === '해') return 'year';
  return 'month';
}

function englishUnit(raw: string): Unit {
  return raw.toLowerCase().replace(/s$/, '') as Unit;
}

function englishMonth(raw: string): number {
  return MONTH_NAMES.indexOf(raw.slice(0, 3).toLowerCase());
}

// ---- years and sub-periods --------------------------------------------------------------

/** A year as written: "2023", "23" (only before a sub-period), or a relative year word. */
function yearOf(raw: string | undefined, now: Date): number | undefined {
  if (raw === undefined) return undefined;
  const word = raw.toLowerCase().replace(/\s+/g, '');
  const current = now.getUTCFullYear();
  if (/^\d{4}$/.test(word)) return Number(word);
  if (/^\d{2}$/.test(word)) return 2000 + Number(word);
  if (word === '재작년' || word === 'theyearbeforelast') return current - 2;
  if (['작년', '지난해', '전년도', 'lastyear', 'previousyear'].includes(word)) return current - 1;
  return current;
}

/** Start month and length of a sub-period of a year. */
interface SubPeriod {
  month0: number;
  length: number;
}

const half = (n: number): SubPeriod => ({ month0: (n - 1) * 6, length: 6 });
const quarter = (n: number): SubPeriod => ({ month0: (n - 1) * 3, length: 3 });

type Groups = Record<string, string | undefined>;

function koreanSubPeriod(g: Groups): SubPeriod | undefined {
  if (g.half) return half(g.half === '상' ? 1 : 2);
  if (g.quarter) return quarter(Number(g.quarter));
  if (g.month) return { month0: Number(g.month) - 1, length: 1 };
  return undefined;
}

function englishSubPeriod(g: Groups): SubPeriod | undefined {
  if (g.half) return half(Number(g.half) || ORDINALS[g.half.toLowerCase()]);
  if (g.quarter) return quarter(Number(g.quarter) || ORDINALS[g.quarter.toLowerCase()]);
  if (g.monthName) return { month0: englishMonth(g.monthName), length: 1 };
  return undefined;
}

/** A year, a sub-period, or both; with `since`, the window runs from the period's start to now. */
function period(year: number | undefined, sub: SubPeriod | undefined, now: Date, since: boolean): Range | undefined {
  let range: Range | undefined;
  if (year !== undefined && sub) range = monthPeriod(year, sub.month0, sub.length);
  else if (year !== undefined) range = monthPeriod(year, 0, 12);
  else if (sub) range = latestStarted(now, sub.month0, sub.length);
  if (!range) return undefined;
  return since ? { kind: 'rolling', start: range.start, end: now } : range;
}

// ---- the rules ----------------------------------------------------------------------------

const KO_NUMBER = '\\d{1,3}|열한|열두|하나|다섯|여섯|일곱|여덟|아홉|한|두|둘|세|셋|석|네|넷|넉|열|몇';
const KO_UNIT = '개월|달|주일|주|분기|일|년|해';
const KO_YEAR = '(?<!\\d)\\d{4}\\s*년(?:도)?|재작년|작년|지난\\s*해|전년도|올해|올\\s*해|금년|이번\\s*해';
const KO_YEAR_SHORT = '(?<!\\d)\\d{2}\\s*년(?:도)?';
const KO_SUB = '(?<half>상|하)반기|(?<quarter>[1-4])\\s*(?:/\\s*4\\s*)?분기|(?<month>1[0-2]|[1-9])\\s*월';
const KO_SINCE = '\\s*(?<since>부터|이후|이래)';
const KO_TAIL = '(?:\\s*(?:동안|간|중|에는|에도|에서|에|의))?';

const EN_NUMBER = '\\d{1,3}|a\\s+few|few|several|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve';
const EN_UNIT = 'days?|weeks?|months?|quarters?|years?';
const EN_LEAD = '(?:(?:in|over|during|for|within|from|of|throughout)\\s+)?(?:the\\s+)?';
const EN_YEAR = '\\d{4}|last\\s+year|previous\\s+year|this\\s+year|the\\s+year\\s+before\\s+last';
const EN_MONTH = 'january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec';
const EN_ORDINAL = 'first|second|third|fourth|1st|2nd|3rd|4th';

const rx = (source: string, flags = 'u'): RegExp => new RegExp(source, `${flags}g`);

function stripKoreanYear(raw: string | undefined): string | undefined {
  return raw?.replace(/^(\d+)\s*년(?:도)?$/u, '$1').replace(/\s+/g, '');
}

const RULES: Rule[] = [
  // 최근 3개월, 지난 6개월간, 과거 2년 동안, 최근 한 달, 지난 2주
  {
    pattern: rx(`(?<![\\p{L}\\p{N}])(?:최근|지난|과거)\\s*(?<n>${KO_NUMBER})\\s*(?<unit>${KO_UNIT})${KO_TAIL}`),
    read: (m, now) => {
      const n = count(m.groups!.n);
      return n ? rollingBack(now, n, koreanUnit(m.groups!.unit)) : undefined;
    },
  },
  // 3개월간, 2년 동안 (a length with a duration suffix and no year-like number)
  {
    pattern: rx(`(?<![\\p{L}\\p{N}])(?<n>\\d{1,2}|한|두|세|석|네|넉)\\s*(?<unit>개월|달|주일|주|년)\\s*(?:간|동안)`),
    read: (m, now) => rollingBack(now, count(m.groups!.n)!, koreanUnit(m.groups!.unit)),
  },
  // 최근 반년, 지난 반년
  { pattern: rx('(?<![\\p{L}\\p{N}])(?:최근|지난)\\s*반\\s*년(?:간|동안)?'), read: (_m, now) => rollingBack(now, 6, 'month') },
  // 지난달, 이번 달, 지난 분기, 이번 주, 어제, 오늘
  {
    pattern: rx('(?<![\\p{L}\\p{N}])(?<rel>지난|저번|이번|금|이)\\s*(?<unit>달|분기|주)(?!일)|(?<thisMonth>이달|금월)|(?<today>오늘|어제)'),
    read: (m, now) => {
      const g = m.groups!;
      if (g.thisMonth) return relativePeriod(now, 'month', 0);
      if (g.today) return relativePeriod(now, 'day', g.today === '어제' ? -1 : 0);
      if (g.rel === '이' && g.unit !== '달') return undefined;
      return relativePeriod(now, koreanUnit(g.unit), g.rel === '지난' || g.rel === '저번' ? -1 : 0);
    },
  },
  // 2023년, 2023년 상반기, 작년 3분기, 올해 5월, 23년 하반기, 2023년 1/4분기, 2022년부터
  {
    pattern: rx(`(?<year>${KO_YEAR})(?:\\s*(?:${KO_SUB}))?(?:${KO_SINCE})?${KO_TAIL}`),
    read: (m, now) => period(yearOf(stripKoreanYear(m.groups!.year), now), koreanSubPeriod(m.groups!), now, Boolean(m.groups!.since)),
  },
  {
    pattern: rx(`(?<year>${KO_YEAR_SHORT})\\s*(?:${KO_SUB})(?:${KO_SINCE})?${KO_TAIL}`),
    read: (m, now) => period(yearOf(stripKoreanYear(m.groups!.year), now), koreanSubPeriod(m.groups!), now, Boolean(m.groups!.since)),
  },
  // 상반기, 3분기, 5월 (the latest that has begun)
  {
    pattern: rx(`(?<!\\d)(?:${KO_SUB})(?:${KO_SINCE})?${KO_TAIL}`),
    read: (m, now) => period(undefined, koreanSubPeriod(m.groups!), now, Boolean(m.groups!.since)),
  },
  // 최근, 요즘, 근래, 요새
  { pattern: rx('최근|요즘|근래|요새'), read: (_m, now) => rollingBack(now, DEFAULT_RECENT_MONTHS, 'month') },

  // last 6 months, the past two years, over the last few weeks, past year
  {
    pattern: rx(`\\b${EN_LEAD}(?:last|past|previous|recent|preceding)\\s+(?<n>${EN_NUMBER})\\s+(?<unit>${EN_UNIT})\\b`, 'iu'),
    read: (m, now) => rollingBack(now, count(m.groups!.n)!, englishUnit(m.groups!.unit)),
  },
  {
    pattern: rx(`\\b${EN_LEAD}past\\s+(?<unit>day|week|month|quarter|year)\\b`, 'iu'),
    read: (m, now) => rollingBack(now, 1, englishUnit(m.groups!.unit)),
  },
  // last month, previous quarter, this week, current year, today, yesterday, year to date
  {
    pattern: rx(
      `\\b${EN_LEAD}(?:(?<rel>last|previous|prior|this|current)\\s+(?<unit>week|month|quarter|year)|(?<today>today|yesterday)|(?<ytd>year[\\s-]to[\\s-]date|ytd))\\b`,
      'iu',
    ),
    read: (m, now) => {
      const g = m.groups!;
      if (g.ytd) return { kind: 'rolling', start: utc(now.getUTCFullYear(), 0), end: now };
      if (g.today) return relativePeriod(now, 'day', g.today.toLowerCase() === 'yesterday' ? -1 : 0);
      const offset = ['this', 'current'].includes(g.rel.toLowerCase()) ? 0 : -1;
      return relativePeriod(now, englishUnit(g.unit), offset);
    },
  },
  // the year before last
  { pattern: rx(`\\b${EN_LEAD}year\\s+before\\s+last\\b`, 'iu'), read: (_m, now) => monthPeriod(now.getUTCFullYear() - 2, 0, 12) },
  // Q3 2023, 2023 Q3, 3Q23, the third quarter of 2023, H1 2023, the first half of last year, March 2023
  {
    pattern: rx(
      `\\b(?:(?<since>since|after)\\s+)?${EN_LEAD}(?:Q(?<quarter>[1-4])|(?<quarter2>[1-4])Q|(?<quarter3>${EN_ORDINAL})\\s+quarter|H(?<half>[12])|(?<half2>${EN_ORDINAL})\\s+half|(?<monthName>${EN_MONTH}))(?:\\s*,?\\s*(?:of\\s+)?(?<year>${EN_YEAR}))?\\b`,
      'iu',
    ),
    read: (m, now) => {
      const g = m.groups!;
      const sub = englishSubPeriod({ half: g.half ?? g.half2, quarter: g.quarter ?? g.quarter2 ?? g.quarter3, monthName: g.monthName });
      if (g.half2 && !['first', '1st', 'second', '2nd'].includes(g.half2.toLowerCase())) return undefined;
      // A bare month name needs a year or a preposition: "may" is also a verb, "march" a noun.
      if (g.monthName && !g.year && !/^\s*(?:in|during|since|after|for|of|from|throughout)\b/iu.test(m[0])) return undefined;
      return period(yearOf(g.year, now), sub, now, Boolean(g.since));
    },
  },
  {
    pattern: rx(`\\b${EN_LEAD}(?<year>\\d{4})\\s*(?:Q(?<quarter>[1-4])|H(?<half>[12]))\\b`, 'iu'),
    read: (m, now) => period(yearOf(m.groups!.year, now), englishSubPeriod(m.groups!), now, false),
  },
  // in 2023, during 2022, since 2021, for 2024 (a bare number is too often not a year)
  {
    pattern: rx('\\b(?:(?<since>since|after)|in|during|for|throughout)\\s+(?:the\\s+year\\s+)?(?<year>(?:19|20)\\d{2})\\b', 'iu'),
    read: (m, now) => period(yearOf(m.groups!.year, now), undefined, now, Boolean(m.groups!.since)),
  },
  // recently, lately, recent, latest
  { pattern: rx('\\b(?:recently|lately|recent|latest)\\b', 'iu'), read: (_m, now) => rollingBack(now, DEFAULT_RECENT_MONTHS, 'month') },
];

/**
 * The one time expression of `text` (the longest match; the earliest among equals), or
 * undefined. A question has one time window: retrieval filters by one.
 */
export function parseTimeExpression(text: string, now: Date): TimeExpression | undefined {
  let best: { m: RegExpExecArray; range: Range } | undefined;
  for (const rule of RULES) {
    rule.pattern.lastIndex = 0;
    for (let m = rule.pattern.exec(text); m !== null; m = rule.pattern.exec(text)) {
      const range = rule.read(m, now);
      if (!range || range.end <= range.start) continue;
      if (!best || m[0].length > best.m[0].length || (m[0].length === best.m[0].length && m.index < best.m.index)) best = { m, range };
    }
  }
  if (!best) return undefined;
  const { m, range } = best;
  // A period's window ends where the period ends; a rolling window ends now (its `end`).
  const anchor = range.end;
  return {
    text: m[0],
    index: m.index,
    kind: range.kind,
    start: range.start,
    end: range.end,
    anchor,
    months: monthsCovering(range.start, anchor),
  };
}

/** The text without the expression, whitespace collapsed; the text itself when nothing else would remain. */
export function withoutTimeExpression(text: string, expression: Pick<TimeExpression, 'index' | 'text'>): string {
  const rest = `${text.slice(0, expression.index)} ${text.slice(expression.index + expression.text.length)}`.replace(/\s+/g, ' ').replace(/ ([?!.,。])/gu, '$1').trim();
  return /[\p{L}\p{N}]/u.test(rest) ? rest : text.trim();
}
