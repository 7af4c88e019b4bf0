/**
 * Dates arrive as ISO-8601 strings or, from JVM backends (Jackson's LocalDateTime), as arrays
 * `[year, month, day, hour, minute, second, microsecond]`. Both become one UTC ISO string.
 */
export type FlexibleDate = string | number[];

export type DateParseResult = { ok: true; iso: string } | { ok: false; reason: string };

/** Year, month and day are needed; hour, minute, second and microsecond default to 0. */
export const MIN_DATE_PARTS = 3;
export const MAX_DATE_PARTS = 7;
export const MAX_MICROSECOND = 999_999;

const PART_NAMES = ['year', 'month', 'day', 'hour', 'minute', 'second', 'microsecond'] as const;
const PART_RANGES: Record<(typeof PART_NAMES)[number], [number, number]> = {
  year: [1, 9999],
  month: [1, 12],
  day: [1, 31],
  hour: [0, 23],
  minute: [0, 59],
  second: [0, 59],
  // Above the maximum is clamped, not refused (some serializers emit nanoseconds there).
  microsecond: [0, Number.MAX_SAFE_INTEGER],
};

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
// Date and time, optional fraction, optional zone; a zone-less time is read as UTC like the arrays.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export function parseDateParts(parts: readonly number[]): DateParseResult {
  if (parts.length < MIN_DATE_PARTS || parts.length > MAX_DATE_PARTS) {
    return { ok: false, reason: `must have ${MIN_DATE_PARTS} to ${MAX_DATE_PARTS} parts [year, month, day, hour, minute, second, microsecond]` };
  }
  const values = PART_NAMES.map((_, i) => parts[i] ?? 0);
  for (const [i, name] of PART_NAMES.entries()) {
    const v = values[i];
    const [min, max] = PART_RANGES[name];
    if (!Number.isInteger(v) || v < min || v > max) return { ok: false, reason: `${name} must be an integer from ${min} to ${max}` };
  }
  const [year, month, day, hour, minute, second, micro] = values;
  if (day > daysInMonth(year, month)) return { ok: false, reason: `day ${day} does not exist in ${year}-${String(month).padStart(2, '0')}` };
  const millis = Math.floor(Math.min(micro, MAX_MICROSECOND) / 1000);
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis));
  // Date.UTC maps years 0-99 to 1900-1999.
  date.setUTCFullYear(year);
  return { ok: true, iso: date.toISOString() };
}

export function parseDateString(text: string): DateParseResult {
  const trimmed = text.trim();
  if (DATE_ONLY.test(trimmed)) {
    const [y, m, d] = trimmed.split('-').map(Number);
    return parseDateParts([y, m, d]);
  }
  const match = DATE_TIME.exec(trimmed);
  if (!match) return { ok: false, reason: 'must be an ISO-8601 date or date-time (e.g. 2024-05-01T09:00:00Z)' };
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const local = parseDateParts([Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s ?? 0)]);
  if (!local.ok) return local;
  const withFraction = local.iso.replace('.000Z', `${(fraction ?? '.000').slice(0, 4).padEnd(4, '0')}`);
  const parsed = new Date(`${withFraction}${zone ?? 'Z'}`);
  if (Number.isNaN(parsed.getTime())) return { ok: false, reason: 'has an invalid time zone offset' };
  return { ok: true, iso: parsed.toISOString() };
}

export function parseFlexibleDate(input: unknown): DateParseResult {
  if (typeof input === 'string') return parseDateString(input);
  if (Array.isArray(input)) {
    if (!input.every((p): p is number => typeof p === 'number')) return { ok: false, reason: 'array parts must be numbers' };
    return parseDateParts(input);
  }
  return { ok: false, reason: 'must be an ISO-8601 string or an array [year, month, day, hour, minute, second, microsecond]' };
}
