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
