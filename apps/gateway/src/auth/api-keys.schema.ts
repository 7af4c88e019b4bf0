import { z } from 'zod';
import { SCOPES } from './api-key';

export const MAX_KEY_NAME_LENGTH = 100;
export const TENANT_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const tenantSchema = z
  .string({ invalid_type_error: 'must be a string' })
  .regex(TENANT_PATTERN, 'must be 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit');

const scopeSchema = z.enum(SCOPES, { errorMap: () => ({ message: `must be one of ${SCOPES.join(', ')}` }) });

export const createKeySchema = z
  .object({
    name: z
      .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
      .trim()
      .min(1, 'must not be empty')
      .max(MAX_KEY_NAME_LENGTH, `must be at most ${MAX_KEY_NAME_LENGTH} characters`),
    scopes: z
      .array(scopeSchema, { required_error: 'is required', invalid_type_error: 'must be an array of scopes' })
      .min(1, 'must name at least one scope')
      .max(SCOPES.length, `must name at most ${SCOPES.length} scopes`)
      .transform((scopes) => [...new Set(scopes)]),
    tenant: tenantSchema.optional(),
    expires_at: z
      .string({ invalid_type_error: 'must be an ISO 8601 date-time string' })
      .datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2027-01-31T00:00:00Z' })
      .transform((value) => new Date(value))
      .refine((date) => date.getTime() > Date.now(), 'must be in the future')
      .optional(),
  })
  .strict();

export type CreateKeyBody = z.infer<typeof createKeySchema>;

export const keyIdSchema = z.string().uuid('must be a uuid');
