import { chooseTimeWindow, monthsBefore, TIME_RANGE_STEPS_MONTHS, windowSequence } from './time-window';

const anchor = new Date('2024-05-31T12:00:00.000Z');
const monthsAgo = (months: number, days = 0): number => monthsBefore(anchor, months).getTime() + days * 86_400_000;

describe('time window', () => {
  it('starts at the requested range and widens through the larger steps only', () => {
    expect(TIME_RANGE_STEPS_MONTHS).toEqual([3, 6, 12, 24, 60]);
    expect(windowSequence(0)).toEqual([]);
    expect(windowSequence(3)).toEqual([3, 6, 12, 24, 60]);
    expect(windowSequence(1)).toEqual([1, 3, 6, 12, 24, 60]);
    expect(windowSequence(7)).toEqual([7, 12, 24, 60]);
    expect(windowSequence(60)).toEqual([60]);
    expect(windowSequence(120)).toEqual([120]);
  });

  it('subtracts calendar months in UTC, clamping the day to the month end', () => {
    expect(monthsBefore(anchor, 3).toISOString()).toBe('2024-02-29T12:00:00.000Z');
    expect(monthsBefore(anchor, 12).toISOString()).toBe('2023-05-31T12:00:00.000Z');
    expect(monthsBefore(anchor, 6).toISOString()).toBe('2023-11-30T12:00:00.000Z');
    expect(monthsBefore(new Date('2024-01-15T00:00:00Z'), 60).toISOString()).toBe('2019-01-15T00:00:00.000Z');
  });

  it('keeps the requested window when it holds enough matches', () => {
    const times = [monthsAgo(1), monthsAgo(2), monthsAgo(2, 10)];
    expect(chooseTimeWindow(times, anchor, 3, 3)).toMatchObject({ months: 3, widened: false, exhausted: false });
  });

  it('widens step by step until the minimum is met: 3 → 6 → 12', () => {
    // Two inside 3 months, one more between 6 and 12: 3 and 6 fail, 12 holds three.
    const times = [monthsAgo(1), monthsAgo(2), monthsAgo(8)];
    const choice = chooseTimeWindow(times, anchor, 3, 3);
    expect(choice).toMatchObject({ months: 12, widened: true, exhausted: false });
    expect(choice?.fromMs).toBe(Date.parse('2023-05-31T12:00:00.000Z'));
    expect(choice?.toMs).toBe(anchor.getTime());
    expect(chooseTimeWindow(times, anchor, 3, 2)).toMatchObject({ months: 3, widened: false });
  });

  it('counts the window edges in and anything after the anchor out', () => {
    const edge = monthsAgo(3);
    expect(chooseTimeWindow([edge, anchor.getTime()], anchor, 3, 2)).toMatchObject({ months: 3 });
    expect(chooseTimeWindow([edge - 1, anchor.getTime() + 1], anchor, 3, 1)).toMatchObject({ months: 6 });
  });

  it('stops at 60 months and says the minimum was not met', () => {
    const times = [monthsAgo(30), monthsAgo(61)];
    expect(chooseTimeWindow(times, anchor, 3, 3)).toMatchObject({ months: 60, widened: true, exhausted: true });
    expect(chooseTimeWindow([], anchor, 24, 1)).toMatchObject({ months: 60, widened: true, exhausted: true });
    expect(chooseTimeWindow([], anchor, 0, 1)).toBeUndefined();
  });
});
