import { z } from 'zod';
import { parseFlexibleDate } from './dates';

export const MAX_CHALLENGES = 200;
export const MAX_TEXT_LENGTH = 200;
export const MAX_MEMBER_ID_LENGTH = 128;
export const MAX_CALLBACK_URL_LENGTH = 2048;
export const MAX_AUTH_HEADER_LENGTH = 1024;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

const flexibleDate = z.unknown().transform((value, ctx): string => {
  const result = parseFlexibleDate(value);
  if (result.ok) return result.iso;
  ctx.addIssue({ code: z.ZodIssueCode.custom, message: value === undefined ? 'is required' : result.reason });
  return z.NEVER;
});

/** http(s) only; `//` runs in the path collapse to one slash (a common base-URL + path join mistake). */
export function normalizeCallbackUrl(raw: string): { ok: true; url: string } | { ok: false; reason: string } {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return { ok: false, reason: 'must be an absolute http(s) URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: 'must use http or https' };
  if (url.username || url.password) return { ok: false, reason: 'must not carry credentials; use callbackAuthHeader' };
  url.pathname = url.pathname.replace(/\/{2,}/g, '/');
  return { ok: true, url: url.toString() };
}

const callbackUrl = z
  .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
  .max(MAX_CALLBACK_URL_LENGTH, `must be at most ${MAX_CALLBACK_URL_LENGTH} characters`)
  .transform((value, ctx): string => {
    const result = normalizeCallbackUrl(value);
    if (result.ok) return result.url;
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: result.reason });
    return z.NEVER;
  });

const text = (max: number) =>
  z
    .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`);

const count = z.number({ required_error: 'is required', invalid_type_error: 'must be a number' }).int('must be an integer').nonnegative('must not be negative');

export const challengeSchema = z.object({
  title: text(MAX_TEXT_LENGTH),
  category: text(MAX_TEXT_LENGTH),
  achieved: count,
  total: count,
  startDate: flexibleDate.optional(),
  endDate: flexibleDate.optional(),
});

export const activitySchema = z.object({
  challenges: z.array(challengeSchema).max(MAX_CHALLENGES, `must have at most ${MAX_CHALLENGES} entries`).default([]),
});

export const feedbackRequestSchema = z
  .object({
    // Product backends often use numeric member ids; they are kept as text.
    memberId: z.union([text(MAX_MEMBER_ID_LENGTH), z.number().int().transform(String)], {
      errorMap: (issue, ctx) => ({ message: issue.code === 'invalid_union' ? 'must be a non-empty string or an integer' : ctx.defaultError }),
    }),
    startDate: flexibleDate,
    endDate: flexibleDate,
    activity: activitySchema.default({}),
    callbackUrl,
    callbackAuthHeader: z
      .string({ invalid_type_error: 'must be a string' })
      .min(1, 'must not be empty')
      .max(MAX_AUTH_HEADER_LENGTH, `must be at most ${MAX_AUTH_HEADER_LENGTH} characters`)
      // A CR or LF would let a caller inject extra headers into our callback request.
      .refine((v) => !/[\r\n]/.test(v), 'must not contain line breaks')
      .optional(),
  })
  .superRefine((body, ctx) => {
    if (body.startDate > body.endDate) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['endDate'], message: 'must not be before startDate' });
    body.activity.challenges.forEach((c, i) => {
      if (c.startDate && c.endDate && c.startDate > c.endDate) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['activity', 'challenges', i, 'endDate'], message: 'must not be before startDate' });
      }
    });
  });

export type FeedbackRequestBody = z.infer<typeof feedbackRequestSchema>;

export const idempotencyKeySchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_IDEMPOTENCY_KEY_LENGTH, `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`)
  .optional();

export const jobIdSchema = z.string().uuid('must be a uuid');
