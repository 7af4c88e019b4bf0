import { RATING_MAX_SCORE, RATING_MIN_SCORE } from '@ragmesh/contracts';
import { z } from 'zod';

export const MAX_COMMENT_CHARS = 2_000;

export const ratingBodySchema = z
  .object({
    score: z
      .number({ required_error: 'is required', invalid_type_error: 'must be a number' })
      .int('must be an integer')
      .min(RATING_MIN_SCORE, `must be at least ${RATING_MIN_SCORE}`)
      .max(RATING_MAX_SCORE, `must be at most ${RATING_MAX_SCORE}`),
    comment: z.string({ invalid_type_error: 'must be a string' }).max(MAX_COMMENT_CHARS, `must be at most ${MAX_COMMENT_CHARS} characters`).optional(),
  })
  .strict();

export type RatingBody = z.infer<typeof ratingBodySchema>;
