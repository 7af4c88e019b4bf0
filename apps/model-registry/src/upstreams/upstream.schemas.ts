import { z } from 'zod';
import { UPSTREAM_KINDS, UpstreamKind } from '../persistence/upstream.entity';

export const UPSTREAM_NAME_PATTERN = /^[a-z0-9-]{1,64}$/;
export const LOCAL_UPSTREAM_NAME = 'local';
export const DEFAULT_UPSTREAM_NAME = 'default';
export const MAX_MODELS_PER_UPSTREAM = 256;
const MAX_MODEL_ID_LENGTH = 256;
export const MAX_LABELS = 32;
export const LABEL_PATTERN = /^[a-z0-9][a-z0-9._:=-]{0,63}$/;
const MAX_WEIGHT = 1_000;
const MAX_CONCURRENCY = 100_000;

export interface FieldError {
  field: string;
  reason: string;
}

export interface RegisterUpstreamCommand {
  name: string;
  baseUrl: string;
  kind: Exclude<UpstreamKind, 'local'>;
  models: string[];
  weight: number;
  /** 0: unlimited. */
  maxConcurrency: number;
  labels: string[];
}

export type UpdateUpstreamCommand = { name: string } & Partial<Omit<RegisterUpstreamCommand, 'name'>>;

/** The watcher appends /health and /v1/models, so a configured ".../v1" or trailing "/" is dropped. */
export function normalizeBaseUrl(url: string): string {
  return url.trim().replace(/\/+$/u, '').replace(/\/v1$/u, '');
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '';
  } catch {
    return false;
  }
}

const nameField = z
  .string({ required_error: 'is required' })
  .regex(UPSTREAM_NAME_PATTERN, 'must be 1-64 characters of a-z, 0-9 and -')
  .refine((name) => name !== LOCAL_UPSTREAM_NAME, 'is reserved for the local engine');
const baseUrlField = z
  .string({ required_error: 'is required' })
  .refine(isHttpUrl, 'must be an absolute http(s) URL')
  .transform(normalizeBaseUrl);
const kindField = z.enum(UPSTREAM_KINDS, { errorMap: () => ({ message: `must be one of ${UPSTREAM_KINDS.join(', ')}` }) });
const modelsField = z
  .array(z.string().min(1, 'must not be empty').max(MAX_MODEL_ID_LENGTH, `must be at most ${MAX_MODEL_ID_LENGTH} characters`))
  .max(MAX_MODELS_PER_UPSTREAM, `must list at most ${MAX_MODELS_PER_UPSTREAM} models`)
  .transform((models) => [...new Set(models)]);
const weightField = z
  .number({ invalid_type_error: 'must be a number' })
  .positive('must be greater than 0')
  .max(MAX_WEIGHT, `must be at most ${MAX_WEIGHT}`);
const maxConcurrencyField = z
  .number({ invalid_type_error: 'must be a number' })
  .int('must be an integer')
  .min(0, 'must be 0 (unlimited) or more')
  .max(MAX_CONCURRENCY, `must be at most ${MAX_CONCURRENCY}`);
const labelsField = z
  .array(z.string().regex(LABEL_PATTERN, 'must be 1-64 characters of a-z, 0-9 and . _ : = -'))
  .max(MAX_LABELS, `must list at most ${MAX_LABELS} labels`)
  .transform((labels) => [...new Set(labels)]);

const registerUpstream = z.object({
  name: nameField,
  baseUrl: baseUrlField,
  kind: kindField,
  models: modelsField.default([]),
  // proto3 sends 0 for "not set": the defaults apply.
  weight: z.preprocess((v) => (v === 0 || v === undefined ? 1 : v), weightField),
  maxConcurrency: maxConcurrencyField.default(0),
  labels: labelsField.default([]),
});

const updateUpstream = z
  .object({
    name: nameField,
    baseUrl: baseUrlField.optional(),
    kind: kindField.optional(),
    models: modelsField.optional(),
    weight: weightField.optional(),
    maxConcurrency: maxConcurrencyField.optional(),
    labels: labelsField.optional(),
  })
  .strict();

// Errors name fields as the proto and the REST body spell them.
const WIRE_NAMES: Record<string, string> = { baseUrl: 'base_url', maxConcurrency: 'max_concurrency' };

function fieldName(path: readonly (string | number)[]): string {
  let name = '';
  for (const part of path) {
    if (typeof part === 'number') name += `[${part}]`;
    else name += `${name === '' ? '' : '.'}${WIRE_NAMES[part] ?? part}`;
  }
  return name === '' ? 'body' : name;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

function validate<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, input: unknown): Validated<T> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ field: 'body', reason: 'must be a JSON object' }] };
  }
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, errors: result.error.issues.map((issue) => ({ field: issueField(issue), reason: issue.message })) };
}

function issueField(issue: z.ZodIssue): string {
  // An unknown key names itself, not its parent object.
  if (issue.code === z.ZodIssueCode.unrecognized_keys) return fieldName([...issue.path, issue.keys[0] ?? '']);
  return fieldName(issue.path);
}

/** Input uses the internal (camelCase) names; errors use the wire (snake_case) names. */
export function validateRegisterUpstream(input: unknown): Validated<RegisterUpstreamCommand> {
  return validate(registerUpstream, input);
}

/** Only the fields present change; an unknown field is an error, not silently ignored. */
export function validateUpdateUpstream(input: unknown): Validated<UpdateUpstreamCommand> {
  return validate(updateUpstream, input);
}

export function validateUpstreamName(input: unknown): Validated<string> {
  const result = nameField.safeParse(input);
  return result.success ? { ok: true, value: result.data } : { ok: false, errors: [{ field: 'name', reason: result.error.issues[0].message }] };
}
