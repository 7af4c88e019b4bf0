import { countTokens } from '@ragmesh/text';
import { z } from 'zod';
import { type ChatEngine, type ChatMessage, type GenerateEvent, type GenerateInput, type SummarizeInput, usageOf } from './types';

export const LOCAL_FEEDBACK_MODEL = 'local-feedback';

/** First line of the system message that carries the activity as JSON (readable by an upstream LLM too). */
export const FEEDBACK_ACTIVITY_MARKER = 'ragmesh-feedback-activity/v1';

/** A challenge at or above this rate counts as "goal met" for streaks. */
export const GOAL_MET_RATE = 0.8;
/** Below this rate the weakest challenge gets the "make it smaller" suggestion. */
const LOW_RATE = 0.5;
/** Half-to-half change (in rate points) that is called a trend. */
const TREND_DELTA = 0.1;
const MIN_CHALLENGES_FOR_TREND = 4;

const challengeSchema = z.object({
  title: z.string().min(1),
  category: z.string().min(1),
  achieved: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  startDate: z.string().optional(),
  endDate: z.string().optional(),
});

/** What `feedbackActivityMessage` carries; callers validate their input with it. */
export const feedbackActivityDocumentSchema = z.object({
  memberId: z.string().min(1),
  period: z.object({ startDate: z.string(), endDate: z.string() }).optional(),
  activity: z.object({ challenges: z.array(challengeSchema).default([]) }),
});

export type FeedbackChallenge = z.infer<typeof challengeSchema>;
export type FeedbackActivityDocument = z.infer<typeof feedbackActivityDocumentSchema>;

/** The activity document as `local-feedback` reads it (the worker checks it before it asks the proxy). */
export function parseFeedbackActivityDocument(input: unknown): z.SafeParseReturnType<unknown, FeedbackActivityDocument> {
  return feedbackActivityDocumentSchema.safeParse(input);
}

/** The message a caller adds to GenerateInput.messages so that `local-feedback` can read the facts. */
export function feedbackActivityMessage(doc: FeedbackActivityDocument): ChatMessage {
  return { role: 'system', content: `${FEEDBACK_ACTIVITY_MARKER}\n${JSON.stringify(doc)}` };
}

/** The activity document of the first marked system message; undefined when none parses. */
export function readFeedbackActivity(messages: readonly ChatMessage[]): FeedbackActivityDocument | undefined {
  for (const message of messages) {
    if (message.role !== 'system' || !message.content.startsWith(FEEDBACK_ACTIVITY_MARKER)) continue;
    try {
      const parsed = parseFeedbackActivityDocument(JSON.parse(message.content.slice(FEEDBACK_ACTIVITY_MARKER.length)));
      if (parsed.success) return parsed.data;
    } catch {
      // Not JSON: treated as absent.
    }
  }
  return undefined;
}

export const LOCAL_FEEDBACK_NO_DATA = '이 요청에는 활동 데이터가 없어 구체적인 피드백을 드릴 수 없습니다. 챌린지 기록을 함께 보내 주세요.';

interface Scored extends FeedbackChallenge {
  rate: number;
  order: number;
  /** Date.parse of its start (else end) date; NaN without one. */
  time: number;
}

/**
 * Korean feedback written from the facts alone: overall and per-category rates, best and weakest
 * challenge, the longest run of goal-met challenges, a trend, and one concrete suggestion.
 * Every number and name in it comes from the document; nothing is invented.
 */
export function writeLocalFeedback(doc: FeedbackActivityDocument): string {
  const when = doc.period ? `${koreanDate(doc.period.startDate)}부터 ${koreanDate(doc.period.endDate)}까지` : '이번 기간에';
  const challenges = doc.activity.challenges;
  if (challenges.length === 0) {
    return `${when} 참여한 챌린지가 없습니다. 다음 기간에는 부담 없는 작은 목표 하나로 시작해 보세요.`;
  }
  const scored = chronological(challenges);
  const measured = scored.filter((c) => c.total > 0);
  const sentences = [overallSentence(when, scored)];
  if (measured.length > 0) {
    // Best first; byRateDesc is a total order (ties end on the given order), so one sort serves every sentence.
    const ranked = [...measured].sort(byRateDesc);
    sentences.push(...rankingSentences(ranked), ...categorySentences(measured), ...streakSentences(measured), ...trendSentences(measured));
    sentences.push(suggestion(ranked.at(-1) as Scored));
  } else {
    sentences.push('목표 횟수가 정해진 챌린지가 없어 달성률은 계산하지 않았습니다. 다음에는 횟수 목표를 정해 보세요.');
  }
  return sentences.join(' ');
}

function overallSentence(when: string, scored: Scored[]): string {
  const achieved = sum(scored.map((c) => c.achieved));
  const total = sum(scored.map((c) => c.total));
  const complete = scored.filter((c) => c.total > 0 && c.achieved >= c.total).length;
  const rate = total > 0 ? `(달성률 ${percent(achieved / total)})` : '';
  const base = `${when} 챌린지 ${scored.length}개에 참여해 목표 ${total}회 중 ${achieved}회를 달성했습니다${rate}.`;
  return complete > 0 ? `${base} 그중 ${complete}개는 목표를 모두 채웠습니다.` : base;
}

function rankingSentences(ranked: Scored[]): string[] {
  const [best] = ranked;
  const sentences = [`가장 잘한 챌린지는 ${quote(best.title)}(${best.category})로 ${best.total}회 중 ${best.achieved}회(${percent(best.rate)})를 해냈습니다.`];
  if (ranked.length > 1) {
    const worst = ranked.at(-1) as Scored;
    if (worst.rate < best.rate) sentences.push(`${josa(quote(worst.title), '은', '는')} ${worst.total}회 중 ${worst.achieved}회(${percent(worst.rate)})로 가장 낮았습니다.`);
  }
  return sentences;
}

function categorySentences(measured: Scored[]): string[] {
  const byCategory = new Map<string, { achieved: number; total: number }>();
  for (const c of measured) {
    const entry = byCategory.get(c.category) ?? { achieved: 0, total: 0 };
    byCategory.set(c.category, { achieved: entry.achieved + c.achieved, total: entry.total + c.total });
  }
  if (byCategory.size < 2) return [];
  const parts = [...byCategory].map(([category, { achieved, total }]) => `${category} ${percent(achieved / total)}`);
  return [`카테고리별 달성률은 ${parts.join(', ')}입니다.`];
}

function streakSentences(measured: Scored[]): string[] {
  let longest = 0;
  let current = 0;
  for (const c of measured) {
    current = c.rate >= GOAL_MET_RATE ? current + 1 : 0;
    longest = Math.max(longest, current);
  }
  if (longest < 2) return [];
  const ongoing = current === longest ? ' 지금도 이어지고 있습니다.' : '';
  return [`목표의 ${percent(GOAL_MET_RATE)} 이상을 달성한 챌린지가 ${longest}개 연속으로 이어졌습니다.${ongoing}`];
}

function trendSentences(measured: Scored[]): string[] {
  if (measured.length < MIN_CHALLENGES_FOR_TREND || !measured.every((c) => c.startDate ?? c.endDate)) return [];
  const half = Math.floor(measured.length / 2);
  const early = mean(measured.slice(0, half).map((c) => c.rate));
  const late = mean(measured.slice(measured.length - half).map((c) => c.rate));
  if (late - early >= TREND_DELTA) return [`기간 후반의 달성률(${percent(late)})이 전반(${percent(early)})보다 높아졌습니다.`];
  if (early - late >= TREND_DELTA) return [`기간 후반의 달성률(${percent(late)})이 전반(${percent(early)})보다 낮아졌습니다.`];
  return [];
}

function suggestion(worst: Scored): string {
  const remaining = worst.total - worst.achieved;
  if (worst.rate < LOW_RATE) {
    return `다음 기간에는 ${quote(worst.title)}의 목표를 더 작게 나누어 꾸준히 이어 가 보세요.`;
  }
  if (remaining > 0) return `다음 기간에는 ${quote(worst.title)}에서 이번에 남은 ${remaining}회를 채우는 것을 목표로 삼아 보세요.`;
  return '모든 챌린지의 목표를 채웠습니다. 다음 기간에는 목표 횟수를 조금 높여 보세요.';
}

/** In date order when every challenge has a date, else in the order given. */
function chronological(challenges: FeedbackChallenge[]): Scored[] {
  // Built field by field: spreading challenges of differing shapes (optional dates) is a slow path in V8.
  const scored = challenges.map(
    (c, order): Scored => ({
      title: c.title,
      category: c.category,
      achieved: c.achieved,
      total: c.total,
      startDate: c.startDate,
      endDate: c.endDate,
      rate: c.total > 0 ? c.achieved / c.total : 0,
      order,
      time: Date.parse(c.startDate ?? c.endDate ?? ''),
    }),
  );
  if (scored.some((c) => Number.isNaN(c.time))) return scored;
  return scored.sort((a, b) => a.time - b.time || a.order - b.order);
}

const byRateDesc = (a: Scored, b: Scored) => b.rate - a.rate || b.total - a.total || a.order - b.order;
const sum = (values: number[]) => values.reduce((n, v) => n + v, 0);
const mean = (values: number[]) => sum(values) / values.length;
const percent = (rate: number) => `${Math.round(rate * 100)}%`;
const quote = (title: string) => `「${title}」`;

function koreanDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.getUTCFullYear()}년 ${date.getUTCMonth() + 1}월 ${date.getUTCDate()}일`;
}

// Digits read in Korean: 0 영, 1 일, 3 삼, 6 육, 7 칠, 8 팔 end in a consonant.
const DIGITS_WITH_FINAL = new Set(['0', '1', '3', '6', '7', '8']);

/** Attaches the particle form that agrees with the word's last sound (은/는, 이/가, 을/를). */
export function josa(word: string, withFinal: string, withoutFinal: string): string {
  const last = [...word.replace(/[」』)\]"'\s]+$/u, '')].at(-1) ?? '';
  const code = last.charCodeAt(0);
  let hasFinal: boolean | undefined;
  if (code >= 0xac00 && code <= 0xd7a3) hasFinal = (code - 0xac00) % 28 !== 0;
  else if (/\d/.test(last)) hasFinal = DIGITS_WITH_FINAL.has(last);
  if (hasFinal === undefined) return `${word}${withFinal}(${withoutFinal})`;
  return word + (hasFinal ? withFinal : withoutFinal);
}

/**
 * The `local-feedback` engine: no model; `writeLocalFeedback` over the activity message. It only
 * writes feedback: summaries are not its job.
 */
export class LocalFeedbackEngine implements ChatEngine {
  readonly name = LOCAL_FEEDBACK_MODEL;

  async *generate(input: GenerateInput): AsyncGenerator<GenerateEvent> {
    input.signal?.throwIfAborted();
    const doc = readFeedbackActivity(input.messages);
    const text = doc ? writeLocalFeedback(doc) : LOCAL_FEEDBACK_NO_DATA;
    const promptTokens = sum(input.messages.map((m) => countTokens(m.content)));
    yield { type: 'delta', text };
    yield { type: 'done', finishReason: 'stop', usage: usageOf(promptTokens, countTokens(text)), model: LOCAL_FEEDBACK_MODEL };
  }

  summarize(_input: SummarizeInput): Promise<string> {
    return Promise.reject(new Error(`${LOCAL_FEEDBACK_MODEL} does not summarize`));
  }

  async listModels(): Promise<string[]> {
    return [LOCAL_FEEDBACK_MODEL];
  }
}

/** `engine`, except that generation for `local-feedback` goes to the feedback engine. */
export function withLocalFeedback(engine: ChatEngine, feedback: ChatEngine = new LocalFeedbackEngine()): ChatEngine {
  return {
    name: engine.name,
    generate: (input) => (input.model === LOCAL_FEEDBACK_MODEL ? feedback.generate(input) : engine.generate(input)),
    summarize: (input) => engine.summarize(input),
    listModels: async () => [...(await engine.listModels()), LOCAL_FEEDBACK_MODEL],
  };
}
