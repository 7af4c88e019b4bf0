import { z } from 'zod';

/**
 * The queues whose dead letters an operator may see and replay: the feedback pipeline's. Named
 * here (not taken from the URL freely) so the endpoint cannot drain an arbitrary queue.
 */
export const DEAD_LETTER_QUEUES = ['feedback-worker.requests', 'gateway.feedback-status'] as const;
export type DeadLetterQueue = (typeof DEAD_LETTER_QUEUES)[number];

export const MAX_DEAD_LETTER_PAGE = 500;
export const DEFAULT_DEAD_LETTER_PAGE = 50;

export const queueSchema = z.enum(DEAD_LETTER_QUEUES, {
  errorMap: () => ({ message: `must be one of ${DEAD_LETTER_QUEUES.join(', ')}` }),
});

export const limitSchema = z.object({
  limit: z.coerce
    .number({ invalid_type_error: 'must be a number' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(MAX_DEAD_LETTER_PAGE, `must be at most ${MAX_DEAD_LETTER_PAGE}`)
    .default(DEFAULT_DEAD_LETTER_PAGE),
});

export const messageIdSchema = z.string().trim().min(1, 'must not be empty').max(300, 'must be at most 300 characters');
