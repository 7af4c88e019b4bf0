import { parseFlexibleDate } from './dates';

const iso = (input: unknown) => {
  const r = parseFlexibleDate(input);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(input)} to parse: ${r.reason}`);
  return r.iso;
};
const reason = (input: unknown) => {
  const r = parseFlexibleDate(input);
  if (r.ok) throw new Error(`expected ${JSON.stringify(input)} to fail, got ${r.iso}`);
  return r.reason;
};

describe('parseFlexibleDate', () => {
  it('reads full arrays as UTC', () => {
    expect(iso([2024, 5, 1, 9, 30, 15, 250000])).toBe('2024-05-01T09:30:15.250Z');
  });

  it('defaults missing tail parts to 0', () => {
    expect(iso([2024, 5, 1])).toBe('2024-05-01T00:00:00.000Z');
    expect(iso([2024, 5, 1, 9])).toBe('2024-05-01T09:00:00.000Z');
    expect(iso([2024, 5, 1, 9, 30, 15])).toBe('2024-05-01T09:30:15.000Z');
  });

  it('clamps microseconds above 999999 instead of rolling into the next second', () => {
    expect(iso([2024, 1, 31, 23, 59, 59, 1_234_567_890])).toBe('2024-01-31T23:59:59.999Z');
  });

  it('refuses arrays that are too short, too long, out of range or not integers', () => {
    expect(reason([2024, 5])).toMatch(/3 to 7 parts/);
    expect(reason([2024, 5, 1, 0, 0, 0, 0, 0])).toMatch(/3 to 7 parts/);
    expect(reason([2024, 13, 1])).toBe('month must be an integer from 1 to 12');
    expect(reason([2024, 2, 30])).toBe('day 30 does not exist in 2024-02');
    expect(reason([2024, 5, 1, 24])).toBe('hour must be an integer from 0 to 23');
    expect(reason([2024, 5, 1.5])).toBe('day must be an integer from 1 to 31');
    expect(reason([2024, 5, 1, 0, 0, 0, -1])).toBe('microsecond must be an integer from 0 to 9007199254740991');
    expect(reason([2024, '5', 1])).toBe('array parts must be numbers');
  });

  it('accepts leap days only in leap years', () => {
    expect(iso([2024, 2, 29])).toBe('2024-02-29T00:00:00.000Z');
    expect(reason([2023, 2, 29])).toMatch(/does not exist/);
  });

  it('reads ISO strings with and without offsets (zone-less = UTC), and plain dates', () => {
    expect(iso('2024-05-01T09:30:00Z')).toBe('2024-05-01T09:30:00.000Z');
    expect(iso('2024-05-01T09:30:00+09:00')).toBe('2024-05-01T00:30:00.000Z');
    expect(iso('2024-05-01T09:30:00.123456')).toBe('2024-05-01T09:30:00.123Z');
    expect(iso('2024-05-01T09:30')).toBe('2024-05-01T09:30:00.000Z');
    expect(iso('2024-05-01')).toBe('2024-05-01T00:00:00.000Z');
  });

  it('refuses malformed strings and other types', () => {
    expect(reason('yesterday')).toMatch(/ISO-8601/);
    expect(reason('2024-02-30')).toMatch(/does not exist/);
    expect(reason('2024-05-01T25:00:00Z')).toBe('hour must be an integer from 0 to 23');
    expect(reason(20240501)).toMatch(/ISO-8601 string or an array/);
    expect(reason(null)).toMatch(/ISO-8601 string or an array/);
  });
});
