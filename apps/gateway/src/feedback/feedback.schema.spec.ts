import { ValidationFailed } from '../http/api-error';
import { parseOrThrow } from '../http/zod-validation.pipe';
import { buildFeedbackPrompt } from './feedback-prompt';
import { feedbackRequestSchema, MAX_CHALLENGES, normalizeCallbackUrl } from './feedback.schema';
import { decideIdempotency, requestHash } from './idempotency';
import { isNewerStatus } from './job-status';

const valid = {
  memberId: 'member-7',
  startDate: [2024, 5, 1],
  endDate: '2024-05-31T23:59:59Z',
  activity: { challenges: [{ title: '만보 걷기', category: 'walking', achieved: 18, total: 31, startDate: [2024, 5, 1], endDate: [2024, 5, 31, 23, 59, 59, 1_000_000] }] },
  callbackUrl: 'https://backend.example//api//feedback/',
  callbackAuthHeader: 'Bearer abc',
};

function fieldsOf(body: unknown): string[] {
  try {
    parseOrThrow(feedbackRequestSchema, body);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationFailed);
    return (err as ValidationFailed).errors.map((e) => e.field);
  }
  throw new Error('expected validation to fail');
}

describe('normalizeCallbackUrl', () => {
  it('collapses double slashes in the path only', () => {
    expect(normalizeCallbackUrl('https://h.example//a//b///c')).toEqual({ ok: true, url: 'https://h.example/a/b/c' });
    expect(normalizeCallbackUrl('http://h.example:8080/cb?next=//x')).toEqual({ ok: true, url: 'http://h.example:8080/cb?next=//x' });
  });

  it('refuses other schemes, relative URLs and embedded credentials', () => {
    expect(normalizeCallbackUrl('ftp://h.example/cb')).toEqual({ ok: false, reason: 'must use http or https' });
    expect(normalizeCallbackUrl('/cb')).toEqual({ ok: false, reason: 'must be an absolute http(s) URL' });
    expect(normalizeCallbackUrl('https://u:p@h.example/cb')).toMatchObject({ ok: false });
  });
});

describe('feedbackRequestSchema', () => {
  it('normalizes dates, the callback URL and numeric member ids', () => {
    const body = parseOrThrow(feedbackRequestSchema, { ...valid, memberId: 42 });
    expect(body.memberId).toBe('42');
    expect(body.startDate).toBe('2024-05-01T00:00:00.000Z');
    expect(body.endDate).toBe('2024-05-31T23:59:59.000Z');
    expect(body.callbackUrl).toBe('https://backend.example/api/feedback/');
    expect(body.activity.challenges[0].endDate).toBe('2024-05-31T23:59:59.999Z');
  });

  it('names every missing required field', () => {
    expect(fieldsOf({})).toEqual(['memberId', 'startDate', 'endDate', 'callbackUrl']);
  });

  it('names nested bad fields the way the client wrote them', () => {
    const bad = { ...valid, activity: { challenges: [{ title: '', category: 'x', achieved: -1, total: 1.5, startDate: [2024, 2, 30] }] } };
    expect(fieldsOf(bad)).toEqual(['activity.challenges[0].title', 'activity.challenges[0].achieved', 'activity.challenges[0].total', 'activity.challenges[0].startDate']);
  });

  it('refuses text with an unpaired surrogate (PostgreSQL jsonb cannot store it), naming the field; pairs are fine', () => {
    const challenge = valid.activity.challenges[0];
    // parseOrThrow's check (http/zod-validation.pipe.ts), before the schema: the first one found is named.
    expect(fieldsOf({ ...valid, memberId: 'm-\ud800' })).toEqual(['memberId']);
    expect(fieldsOf({ ...valid, callbackAuthHeader: 'Bearer \udc00' })).toEqual(['callbackAuthHeader']);
    expect(fieldsOf({ ...valid, activity: { challenges: [{ ...challenge, title: 'run \ud83c' }] } })).toEqual(['activity.challenges[0].title']);
    expect(parseOrThrow(feedbackRequestSchema, { ...valid, memberId: 'm-\ud83c\udfc3' }).memberId).toBe('m-🏃');
  });

  it('refuses an end before the start, a bad URL, a header with a line break and too many challenges', () => {
    expect(fieldsOf({ ...valid, startDate: '2024-06-01', endDate: '2024-05-01' })).toEqual(['endDate']);
    expect(fieldsOf({ ...valid, callbackUrl: 'javascript:alert(1)' })).toEqual(['callbackUrl']);
    expect(fieldsOf({ ...valid, callbackAuthHeader: 'Bearer x\r\nX-Evil: 1' })).toEqual(['callbackAuthHeader']);
    const many = Array.from({ length: MAX_CHALLENGES + 1 }, () => valid.activity.challenges[0]);
    expect(fieldsOf({ ...valid, activity: { challenges: many } })).toEqual(['activity.challenges']);
  });
});

describe('idempotency', () => {
  it('hashes the normalized request independently of key order and date spelling', () => {
    const a = parseOrThrow(feedbackRequestSchema, valid);
    const { memberId, ...rest } = valid;
    // Keys in another order, and the start date spelled as a string.
    const b = parseOrThrow(feedbackRequestSchema, { ...rest, startDate: '2024-05-01', memberId });
    expect(requestHash(a)).toBe(requestHash(b));
    expect(requestHash(a)).not.toBe(requestHash({ ...a, memberId: 'other' }));
  });

  it('decides new, replay or conflict', () => {
    expect(decideIdempotency(null, 'h1')).toEqual({ kind: 'new' });
    expect(decideIdempotency({ jobId: 'j', requestHash: 'h1' }, 'h1')).toEqual({ kind: 'replay', jobId: 'j' });
    expect(decideIdempotency({ jobId: 'j', requestHash: 'h1' }, 'h2')).toEqual({ kind: 'conflict' });
  });
});

describe('isNewerStatus', () => {
  const t = (ms: number) => new Date(1_700_000_000_000 + ms);
  it('applies newer events, ignores older ones, and lets the later stage win a tie', () => {
    expect(isNewerStatus({ status: 'queued', at: null }, { status: 'running', at: t(0) })).toBe(true);
    expect(isNewerStatus({ status: 'succeeded', at: t(10) }, { status: 'running', at: t(5) })).toBe(false);
    expect(isNewerStatus({ status: 'failed', at: t(10) }, { status: 'running', at: t(20) })).toBe(true);
    expect(isNewerStatus({ status: 'succeeded', at: t(10) }, { status: 'running', at: t(10) })).toBe(false);
    expect(isNewerStatus({ status: 'running', at: t(10) }, { status: 'succeeded', at: t(10) })).toBe(true);
  });
});

describe('buildFeedbackPrompt', () => {
  it('lists each challenge with its progress and the period', () => {
    const prompt = buildFeedbackPrompt(parseOrThrow(feedbackRequestSchema, valid));
    expect(prompt).toContain('member member-7');
    expect(prompt).toContain('from 2024-05-01 to 2024-05-31');
    expect(prompt).toContain('- 만보 걷기 [walking]: 18/31 achieved (58%) (2024-05-01 – 2024-05-31)');
  });
});
