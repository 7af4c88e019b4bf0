import { z } from 'zod';

export const MAX_QUERY_CHARS = 2_000;
export const MAX_SEARCH_TOP_K = 100;
export const DEFAULT_SEARCH_TOP_K = 10;

export const searchSchema = z.object({
  query: z.string({ required_error: 'is required' }).trim().min(1, 'must not be empty').max(MAX_QUERY_CHARS),
  top_k: z.number().int().min(1).max(MAX_SEARCH_TOP_K).default(DEFAULT_SEARCH_TOP_K),
  filters: z.record(z.string(), z.string()).default({}),
  collection: z.string().max(200).optional(),
});

export type SearchBody = z.infer<typeof searchSchema>;
