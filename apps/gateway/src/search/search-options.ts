import { z } from 'zod';
import type { SearchRequest, SearchResponse } from '../grpc/retrieval.repository';
import { parseDateString } from '../feedback/dates';

/** Policies for the time window and fusion options a client may ask retrieval for. */
export const MAX_TIME_RANGE_MONTHS = 60;
export const MAX_MIN_CANDIDATES = 50;
export const FUSION_METHODS = ['minmax', 'rrf'] as const;
export type FusionMethod = (typeof FUSION_METHODS)[number];

/** Normalised to a UTC ISO string so retrieval sees one date format whatever the client sent. */
export const timeAnchorSchema = z.string({ invalid_type_error: 'must be an ISO-8601 date string' }).transform((value, ctx): string => {
  const parsed = parseDateString(value);
  if (parsed.ok) return parsed.iso;
  ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed.reason });
  return z.NEVER;
});

export const timeRangeMonthsSchema = z
  .number({ invalid_type_error: 'must be an integer' })
  .int('must be an integer')
  .min(1, `must be between 1 and ${MAX_TIME_RANGE_MONTHS}`)
  .max(MAX_TIME_RANGE_MONTHS, `must be between 1 and ${MAX_TIME_RANGE_MONTHS}`);

export const minCandidatesSchema = z
  .number({ invalid_type_error: 'must be an integer' })
  .int('must be an integer')
  .min(1, `must be between 1 and ${MAX_MIN_CANDIDATES}`)
  .max(MAX_MIN_CANDIDATES, `must be between 1 and ${MAX_MIN_CANDIDATES}`);

export const fusionSchema = z.enum(FUSION_METHODS, { errorMap: () => ({ message: `must be one of ${FUSION_METHODS.map((m) => `'${m}'`).join(', ')}` }) });

export const bm25WeightSchema = z
  .number({ invalid_type_error: 'must be a number between 0 and 1' })
  .min(0, 'must be between 0 and 1')
  .max(1, 'must be between 0 and 1');

/** The optional SearchRequest fields; undefined = the retrieval service's default. */
export interface SearchOptions {
  timeAnchor?: string;
  timeRangeMonths?: number;
  minCandidates?: number;
  fusion?: FusionMethod;
  bm25Weight?: number;
}

export interface TimeRangeOutcome {
  months_used: number;
  widened: boolean;
  exhausted: boolean;
}

/**
 * Only the options the client gave: an unset proto3 `optional` means "service default", while a
 * set zero means something else (bm25_weight 0 = dense only), so undefined must not be sent as 0.
 */
export function searchOptionFields(options: SearchOptions): Partial<SearchRequest> {
  const fields: Partial<SearchRequest> = {};
  if (options.timeAnchor !== undefined) fields.timeAnchor = options.timeAnchor;
  if (options.timeRangeMonths !== undefined) fields.timeRangeMonths = options.timeRangeMonths;
  if (options.minCandidates !== undefined) fields.minCandidates = options.minCandidates;
  if (options.fusion !== undefined) fields.fusion = options.fusion;
  if (options.bm25Weight !== undefined) fields.bm25Weight = options.bm25Weight;
  return fields;
}

export function timeRangeOutcome(res: SearchResponse): TimeRangeOutcome {
  return {
    months_used: res.timeRangeMonthsUsed ?? 0,
    widened: res.timeRangeWidened ?? false,
    exhausted: res.timeRangeExhausted ?? false,
  };
}
