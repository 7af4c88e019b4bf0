import { z } from 'zod';
import { UPSTREAM_KINDS, UpstreamKind } from '../persistence/upstream.entity';

export const UPSTREAM_NAME_PATTERN = /^[a-z0-9-]{1,64}$/;
export const LOCAL_UPSTREAM_NAME = 'local';
export const DEFAULT_UPSTREAM_NAME = 'default';
export const MAX_MODELS_PER_UPSTREAM = 256;
const MAX_MODEL_ID_LENGTH = 256;

export interface FieldError {
  field: string;
  reason: string;
}

export interface RegisterUpstreamCommand {
  name: string;
  baseUrl: string;
  kind: Exclude<UpstreamKind, 'local'>;
  models: string[];
}

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

const registerUpstream = z.object({
  name: z
    .string({ required_error: 'is required' })
    .regex(UPSTREAM_NAME_PATTERN, 'must be 1-64 characters of a-z, 0-9 and -')
    .refine((name) => name !== LOCAL_UPSTREAM_NAME, 'is reserved for the local engine'),
  baseUrl: z
    .string({ required_error: 'is required' })
    .refine(isHttpUrl, 'must be an absolute http(s) URL')
    .transform(normalizeBaseUrl),
  kind: z.enum(UPSTREAM_KINDS, { errorMap: () => ({ message: `must be one of ${UPSTREAM_KINDS.join(', ')}` }) }),
  models: z
    .array(z.string().min(1, 'must not be empty').max(MAX_MODEL_ID_LENGTH, `must be at most ${MAX_MODEL_ID_LENGTH} characters`))
    .max(MAX_MODELS_PER_UPSTREAM, `must list at most ${MAX_MODELS_PER_UPSTREAM} models`)
    .default([]),
});

// Errors name fields as the proto and the REST body spell them.
const WIRE_NAMES: Record<string, string> = { baseUrl: 'base_url' };

function fieldName(path: readonly (string | number)[]): string {
  let name = '';
  for (const part of path) {
    if (typeof part === 'number') name += `[${part}]`;
    else name += `${name === '' ? '' : '.'}${WIRE_NAMES[part] ?? part}`;
  }
  return name === '' ? 'body' : name;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** Input uses the internal (camelCase) names; errors use the wire (snake_case) names. */
export function validateRegisterUpstream(input: unknown): Validated<RegisterUpstreamCommand> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ field: 'body', reason: 'must be a JSON object' }] };
  }
  const result = registerUpstream.safeParse(input);
  if (result.success) return { ok: true, value: { ...result.data, models: [...new Set(result.data.models)] } };
  return { ok: false, errors: result.error.issues.map((issue) => ({ field: fieldName(issue.path), reason: issue.message })) };
}
