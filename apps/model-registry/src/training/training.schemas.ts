import { z } from 'zod';
import { RUN_STATUSES } from './runs.repository';

const MAX_PAGE = 500;

const intString = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/u, 'must be a non-negative integer')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

export const uuidParam = z.string().uuid('must be a uuid');
/** An adapter by id (uuid) or by name (e.g. ragmesh-lora-v3). */
export const adapterRef = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/u, 'must be an adapter id or name');
export const versionParam = intString(1, 2_147_483_647);

export const pageQuery = z
  .object({
    limit: intString(1, MAX_PAGE).default('50'),
    offset: intString(0, 10_000_000).default('0'),
  })
  .strict();

export const runsQuery = pageQuery.extend({ status: z.enum(RUN_STATUSES, { errorMap: () => ({ message: `must be one of ${RUN_STATUSES.join(', ')}` }) }).optional() }).strict();

export const examplesQuery = pageQuery
  .extend({
    state: z.enum(['pending', 'in_run', 'trained'], { errorMap: () => ({ message: 'must be one of pending, in_run, trained' }) }).optional(),
    dataset_version: versionParam.optional(),
  })
  .strict();

export const eventsQuery = z
  .object({
    after: intString(0, Number.MAX_SAFE_INTEGER).default('0'),
    limit: intString(1, MAX_PAGE).default('100'),
    type: z.string().min(1, 'must not be empty').max(100, 'must be at most 100 characters').optional(),
  })
  .strict();

export const modelsQuery = z.object({ model: z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters').optional() }).strict();

export const rollbackBody = z
  .object({
    base_model: z.string({ required_error: 'is required' }).min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
    to_version: z.number({ invalid_type_error: 'must be a number' }).int('must be an integer').positive('must be at least 1').optional(),
  })
  .strict();

/** Bodies that must be empty objects (or absent): an unexpected field is a mistake worth naming. */
export const emptyBody = z.object({}).strict();
