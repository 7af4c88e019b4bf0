/** The widening ladder of the time filter, in months (the product requirement). */
export const TIME_RANGE_STEPS_MONTHS = [3, 6, 12, 24, 60] as const;
export const DEFAULT_MIN_CANDIDATES = 3;

export interface TimeWindow {
  months: number;
  /** Inclusive bounds, epoch ms. */
  fromMs: number;
  toMs: number;
}

export interface TimeWindowChoice extends TimeWindow {
  widened: boolean;
  /** Even the last window held fewer than the minimum: it is used anyway. */
  exhausted: boolean;
}

/**
 * The windows tried for a requested range: the requested one, then every larger step.
 * A request wider than the last step is tried alone (it already covers the whole ladder).
 */
export function windowSequence(requestedMonths: number): number[] {
  if (requestedMonths <= 0) return [];
  return [requestedMonths, ...TIME_RANGE_STEPS_MONTHS.filter((step) => step > requestedMonths)];
}

/**
 * `anchor` minus whole calendar months (UTC); the day is clamped to the target month's end,
 * so 31 May − 3 months is 28/29 February, not 2/3 March.
 */
export function monthsBefore(anchor: Date, months: number): Date {
  const year = anchor.getUTCFullYear();
  const month = anchor.getUTCMonth() - months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const result = new Date(anchor.getTime());
  result.setUTCFullYear(year, month, Math.min(anchor.getUTCDate(), lastDay));
  return result;
}

export function timeWindow(anchor: Date, months: number): TimeWindow {
  return { months, fromMs: monthsBefore(anchor, months).getTime(), toMs: anchor.getTime() };
}

/**
 * Picks the first window of the sequence holding at least `minCandidates` of the given
 * publication times (those of the chunks that match the query); when none does, the last.
 * Undefined when no time filter was requested.
 */
export function chooseTimeWindow(
  publishedMs: readonly number[],
  anchor: Date,
  requestedMonths: number,
  minCandidates: number,
): TimeWindowChoice | undefined {
  const sequence = windowSequence(requestedMonths);
  if (sequence.length === 0) return undefined;
  for (let i = 0; i < sequence.length; i += 1) {
    const window = timeWindow(anchor, sequence[i]);
    let inside = 0;
    for (const t of publishedMs) if (t >= window.fromMs && t <= window.toMs) inside += 1;
    const last = i === sequence.length - 1;
    if (inside >= minCandidates || last) {
      return { ...window, widened: i > 0, exhausted: inside < minCandidates };
    }
  }
  return undefined;
}
