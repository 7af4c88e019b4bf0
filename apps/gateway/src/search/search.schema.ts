import { z } from 'zod';
import { bm25WeightSchema, fusionSchema, minCandidatesSchema, timeAnchorSchema, timeRangeMonthsSchema } from './search-options';

export const MAX_QUERY_CHARS = 2_000;
export const MAX_SEARCH_TOP_K = 100;
export const DEFAULT_SEARCH_TOP_K = 10;

export const searchSchema = z
  .object({
    query: z.string({ required_error: 'is required' }).trim().min(1, 'must not be empty').max(MAX_QUERY_CHARS),
    top_k: z.number().int().min(1).max(MAX_SEARCH_TOP_K).default(DEFAULT_SEARCH_TOP_K),
    filters: z.record(z.string(), z.string()).default({}),
    collection: z.string().max(200).optional(),
    time_anchor: timeAnchorSchema.optional(),
    time_range_months: timeRangeMonthsSchema.optional(),
    min_candidates: minCandidatesSchema.optional(),
    fusion: fusionSchema.optional(),
    bm25_weight: bm25WeightSchema.optional(),
  })
  .superRefine((body, ctx) => {
    // Without a window these do nothing in retrieval; refusing them beats silently ignoring them.
    for (const field of ['time_anchor', 'min_candidates'] as const) {
      if (body[field] !== undefined && body.time_range_months === undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [field], message: 'needs time_range_months' });
      }
    }
  });

export type SearchBody = z.infer<typeof searchSchema>;
