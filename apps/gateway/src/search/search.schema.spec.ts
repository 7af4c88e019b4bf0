import { toCommand } from '../chat/chat.controller';
import { chatRequestSchema } from '../chat/chat.schema';
import { ValidationFailed } from '../http/api-error';
import type { FieldError } from '../http/envelope';
import { parseOrThrow } from '../http/zod-validation.pipe';
import { searchSchema } from './search.schema';

function fieldErrors(schema: Parameters<typeof parseOrThrow>[0], body: unknown): FieldError[] {
  try {
    parseOrThrow(schema, body);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationFailed);
    expect((err as ValidationFailed).getStatus()).toBe(400);
    return (err as ValidationFailed).errors;
  }
  throw new Error('expected validation to fail');
}

const user = [{ role: 'user', content: 'hi' }];

describe('search time window and fusion options', () => {
  it('accepts every option and normalises the anchor to a UTC ISO string', () => {
    const parsed = parseOrThrow(searchSchema, {
      query: 'q',
      time_anchor: '2024-05-01T09:00:00+09:00',
      time_range_months: 60,
      min_candidates: 50,
      fusion: 'rrf',
      bm25_weight: 0,
    });
    expect(parsed).toEqual(
      expect.objectContaining({ time_anchor: '2024-05-01T00:00:00.000Z', time_range_months: 60, min_candidates: 50, fusion: 'rrf', bm25_weight: 0 }),
    );
  });

  it.each([0, -1, 61, 2.5, '6'])('rejects time_range_months %p naming the field', (months) => {
    expect(fieldErrors(searchSchema, { query: 'q', time_range_months: months })).toEqual([
      { field: 'time_range_months', reason: expect.stringMatching(/between 1 and 60|integer/) },
    ]);
  });

  it('names each bad option', () => {
    const errors = fieldErrors(searchSchema, {
      query: 'q',
      time_range_months: 3,
      time_anchor: 'last tuesday',
      min_candidates: 51,
      fusion: 'weighted',
      bm25_weight: 1.5,
    });
    expect(errors.map((e) => e.field).sort()).toEqual(['bm25_weight', 'fusion', 'min_candidates', 'time_anchor']);
    expect(errors.find((e) => e.field === 'fusion')?.reason).toBe("must be one of 'minmax', 'rrf'");
  });

  it('refuses an anchor or a candidate count without a window, where they would do nothing', () => {
    expect(fieldErrors(searchSchema, { query: 'q', time_anchor: '2024-05-01', min_candidates: 2 })).toEqual([
      { field: 'time_anchor', reason: 'needs time_range_months' },
      { field: 'min_candidates', reason: 'needs time_range_months' },
    ]);
  });

  it('chat: validates time_range and names the nested field', () => {
    expect(fieldErrors(chatRequestSchema, { messages: user, time_range: { months: 100 } })).toEqual([
      { field: 'time_range.months', reason: 'must be between 1 and 60' },
    ]);
    expect(fieldErrors(chatRequestSchema, { messages: user, time_range: { anchor: '2024-05-01' } }).map((e) => e.field)).toEqual(['time_range.months']);
    expect(fieldErrors(chatRequestSchema, { messages: user, time_range: { months: 3, month: 6 } }).map((e) => e.field)).toEqual(['time_range']);
    expect(fieldErrors(chatRequestSchema, { messages: user, fusion: 'max', bm25_weight: -0.1 }).map((e) => e.field).sort()).toEqual([
      'bm25_weight',
      'fusion',
    ]);
  });

  it('chat: maps time_range, fusion and bm25_weight onto the command, and leaves them unset when absent', () => {
    const body = parseOrThrow(chatRequestSchema, {
      messages: user,
      time_range: { months: 6, anchor: '2024-05-01', min_candidates: 4 },
      fusion: 'minmax',
      bm25_weight: 0.7,
    });
    expect(toCommand(body, 'default').searchOptions).toEqual({
      timeRangeMonths: 6,
      timeAnchor: '2024-05-01T00:00:00.000Z',
      minCandidates: 4,
      fusion: 'minmax',
      bm25Weight: 0.7,
    });
    const plain = toCommand(parseOrThrow(chatRequestSchema, { messages: user }), 'default');
    expect(Object.values(plain.searchOptions ?? {}).every((v) => v === undefined)).toBe(true);
  });
});
