import { RATING_MAX_SCORE, RATING_MIN_SCORE } from '@ragmesh/contracts';
import { z } from 'zod';

export const WEBHOOK_FORMATS = ['slack', 'discord'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** Personal data scrubbed from examples by default: e-mail, Korean and international phone numbers, Korean resident numbers, card numbers. */
export const DEFAULT_PII_PATTERNS = [
  '[\\w.+-]+@[\\w-]+(\\.[\\w-]+)+',
  '\\b\\d{6}-?[1-4]\\d{6}\\b',
  '\\b\\d(?:[ -]?\\d){12,15}\\b',
  '(?:\\+?82[- ]?|\\b0)1[016789][- ]?\\d{3,4}[- ]?\\d{4}\\b',
  '\\+\\d{1,3}[- ]?\\d{2,4}[- ]?\\d{3,4}[- ]?\\d{3,4}\\b',
];

const MAX_PATTERNS = 50;
const MAX_WEBHOOKS = 10;
const ADAPTER_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, 'gu');
    return true;
  } catch {
    return false;
  }
}

const int = (min: number, max: number) =>
  z.number({ invalid_type_error: 'must be a number' }).int('must be an integer').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

const hyperparameters = z
  .object({
    epochs: int(1, 100),
    learning_rate: z.number({ invalid_type_error: 'must be a number' }).positive('must be greater than 0').max(1, 'must be at most 1'),
    lora_r: int(1, 256),
    lora_alpha: int(1, 1024),
  })
  .strict();

export const settingsSchema = z
  .object({
    auto_train: z.boolean({ invalid_type_error: 'must be true or false' }),
    examples_per_run: int(1, 1_000_000),
    min_score: int(RATING_MIN_SCORE, RATING_MAX_SCORE),
    min_chars: int(0, 100_000),
    max_chars: int(1, 1_000_000),
    pii_patterns: z
      .array(z.string().min(1, 'must not be empty').refine(compiles, 'must be a valid regular expression'))
      .max(MAX_PATTERNS, `must list at most ${MAX_PATTERNS} patterns`),
    pii_replacement: z.string().max(64, 'must be at most 64 characters'),
    max_retries: int(0, 10),
    base_model: z.string().max(256, 'must be at most 256 characters'),
    adapter_name: z.string().regex(ADAPTER_NAME, 'must be 1-63 characters of a-z, 0-9 and . _ -'),
    auto_load: z.boolean({ invalid_type_error: 'must be true or false' }),
    auto_promote: z.boolean({ invalid_type_error: 'must be true or false' }),
    webhooks: z
      .array(
        z
          .object({
            url: z.string().url('must be an absolute URL').refine((u) => /^https?:/u.test(u), 'must be http or https'),
            format: z.enum(WEBHOOK_FORMATS, { errorMap: () => ({ message: `must be one of ${WEBHOOK_FORMATS.join(', ')}` }) }),
          })
          .strict(),
      )
      .max(MAX_WEBHOOKS, `must list at most ${MAX_WEBHOOKS} webhooks`),
    hyperparameters,
  })
  .strict();

export type TrainingSettings = z.infer<typeof settingsSchema>;

export const DEFAULT_SETTINGS: TrainingSettings = {
  auto_train: true,
  examples_per_run: 100,
  min_score: 4,
  min_chars: 10,
  max_chars: 8_000,
  pii_patterns: DEFAULT_PII_PATTERNS,
  pii_replacement: '[REDACTED]',
  max_retries: 2,
  base_model: '',
  adapter_name: 'ragmesh-lora',
  auto_load: true,
  auto_promote: false,
  webhooks: [],
  hyperparameters: { epochs: 3, learning_rate: 2e-4, lora_r: 16, lora_alpha: 32 },
};

export interface FieldError {
  field: string;
  reason: string;
}

export type SettingsPatchResult = { ok: true; value: TrainingSettings } | { ok: false; errors: FieldError[] };

function fieldOf(issue: z.ZodIssue): string {
  const path = issue.code === z.ZodIssueCode.unrecognized_keys ? [...issue.path, issue.keys[0] ?? ''] : issue.path;
  return path.reduce<string>((name, part) => (typeof part === 'number' ? `${name}[${part}]` : name === '' ? part : `${name}.${part}`), '') || 'body';
}

/** A patch names only what changes; the result is validated whole (so min_chars ≤ max_chars holds after it). */
export function applySettingsPatch(current: TrainingSettings, patch: unknown): SettingsPatchResult {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return { ok: false, errors: [{ field: 'body', reason: 'must be a JSON object' }] };
  const body = patch as Record<string, unknown>;
  const hp = body.hyperparameters;
  const merged = {
    ...current,
    ...body,
    ...(typeof hp === 'object' && hp !== null && !Array.isArray(hp) ? { hyperparameters: { ...current.hyperparameters, ...hp } } : {}),
  };
  const result = settingsSchema.safeParse(merged);
  if (!result.success) return { ok: false, errors: result.error.issues.map((i) => ({ field: fieldOf(i), reason: i.message })) };
  if (result.data.min_chars > result.data.max_chars) return { ok: false, errors: [{ field: 'min_chars', reason: 'must not exceed max_chars' }] };
  return { ok: true, value: result.data };
}

/** Stored settings from an older version lack newer keys: defaults fill them. */
export function withDefaults(stored: unknown): TrainingSettings {
  const result = applySettingsPatch(DEFAULT_SETTINGS, stored ?? {});
  return result.ok ? result.value : DEFAULT_SETTINGS;
}
