import { z } from 'zod';

export const MAX_METADATA_ENTRIES = 64;
export const MAX_METADATA_KEY_CHARS = 128;
export const MAX_METADATA_VALUE_CHARS = 2_000;
export const MAX_COLLECTION_CHARS = 128;

/** A string map from a proto map<string,string>; bounded so one request cannot bloat every chunk. */
export const stringMap = z
  .record(
    z.string().min(1, 'keys must not be empty').max(MAX_METADATA_KEY_CHARS, `keys must be at most ${MAX_METADATA_KEY_CHARS} characters`),
    z.string().max(MAX_METADATA_VALUE_CHARS, `values must be at most ${MAX_METADATA_VALUE_CHARS} characters`),
  )
  .default({})
  .refine((map) => Object.keys(map).length <= MAX_METADATA_ENTRIES, `must have at most ${MAX_METADATA_ENTRIES} entries`);

export const collectionName = z
  .string()
  .trim()
  .max(MAX_COLLECTION_CHARS, `must be at most ${MAX_COLLECTION_CHARS} characters`)
  .default('');

/** ISO-8601 date or date-time (calendar-valid); `Date.parse` alone accepts too much ("1", "May 3"). */
export const ISO_DATE_PATTERN = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export function isIsoDate(value: string): boolean {
  if (!ISO_DATE_PATTERN.test(value) || Number.isNaN(Date.parse(value))) return false;
  // Date.parse rolls 2024-02-30 over to 1 March: the calendar day must exist as written.
  const [year, month, day] = value.slice(0, 10).split('-').map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
