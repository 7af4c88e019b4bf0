import { z } from 'zod';

export const DEFAULT_PAGE_TURNS = 20;
export const MAX_PAGE_TURNS = 100;

export const conversationIdSchema = z.string().uuid('must be a uuid');

const nonNegativeInt = z
  .string()
  .regex(/^\d+$/, 'must be a non-negative integer')
  .transform((v) => Number(v));

export const turnIndexSchema = nonNegativeInt;

export const messagesQuerySchema = z.object({
  last_index: nonNegativeInt.optional(),
  limit: nonNegativeInt
    .pipe(z.number().int().min(1, 'must be at least 1').max(MAX_PAGE_TURNS, `must be at most ${MAX_PAGE_TURNS}`))
    .default(String(DEFAULT_PAGE_TURNS)),
});

export type MessagesQuery = z.infer<typeof messagesQuerySchema>;
