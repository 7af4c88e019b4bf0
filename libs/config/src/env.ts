import { z } from 'zod';

/** The contract's `z.ZodType<T>`: env strings in (coerced), T out. */
export type EnvSchema<T> = z.ZodType<T>;

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const PORT_MAX = 65_535;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const TRUE_VALUES = new Set(['true', '1']);
const FALSE_VALUES = new Set(['false', '0']);
const INTEGER = /^[+-]?\d+$/;
// host:port, host may be a name, an IPv4 address or a bracketed IPv6 address.
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

interface FieldSpec<T> {
  /** Used when the variable is unset or empty ("FOO=" in an env file means "not set"). */
  fallback?: T;
  /** When unset and without fallback: undefined instead of "is required". */
  optional?: boolean;
  trim?: boolean;
  parse(raw: string): Parsed<T>;
}

function field<T>(spec: FieldSpec<T>): EnvSchema<T> {
  const schema = z.unknown().transform((input, ctx): T => {
    let raw = input === undefined || input === null ? undefined : String(input);
    if (raw !== undefined && spec.trim !== false) raw = raw.trim();
    if (raw === undefined || raw === '') {
      if (spec.fallback !== undefined) return spec.fallback;
      if (spec.optional) return undefined as T;
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'is required' });
      return z.NEVER;
    }
    const parsed = spec.parse(raw);
    if (!parsed.ok) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed.reason });
      return z.NEVER;
    }
    return parsed.value;
  });
  // The input is really `unknown` (raw env strings); the contract types it as z.ZodType<T>.
  return schema as unknown as EnvSchema<T>;
}

function parseInteger(raw: string, min: number | undefined, max: number | undefined): Parsed<number> {
  if (!INTEGER.test(raw)) return { ok: false, reason: `must be an integer (got "${raw}")` };
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) return { ok: false, reason: `must be a safe integer (got "${raw}")` };
  if (min !== undefined && value < min) return { ok: false, reason: `must be >= ${min} (got ${value})` };
  if (max !== undefined && value > max) return { ok: false, reason: `must be <= ${max} (got ${value})` };
  return { ok: true, value };
}

const URL_REASON = 'must be an absolute URL with a host (e.g. http://host:port)';

// URL values are not echoed back: they often carry credentials.
function parseUrl(raw: string): Parsed<string> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: URL_REASON };
  }
  // "vllm:8000" parses as a URL with scheme "vllm:"; a missing host is the real mistake.
  return url.host === '' ? { ok: false, reason: URL_REASON } : { ok: true, value: raw };
}

/** zod schemas that coerce env strings; each has a local default so the mesh runs without any env. */
export const env = {
  /** Any string; without a default an unset variable becomes ''. Not trimmed (secrets may contain spaces). */
  str(def?: string): EnvSchema<string> {
    return field<string>({ fallback: def ?? '', trim: false, parse: (raw) => ({ ok: true, value: raw }) });
  },
  int(def: number, opts: { min?: number; max?: number } = {}): EnvSchema<number> {
    return field<number>({ fallback: def, parse: (raw) => parseInteger(raw, opts.min, opts.max) });
  },
  /** 0 is allowed: it asks the OS for a free port (tests). */
  port(def: number): EnvSchema<number> {
    return field<number>({ fallback: def, parse: (raw) => parseInteger(raw, 0, PORT_MAX) });
  },
  url(def: string): EnvSchema<string> {
    return field<string>({ fallback: def, parse: parseUrl });
  },
  /** Unset or empty → undefined (e.g. no upstream configured → local engine). */
  optionalUrl(): EnvSchema<string | undefined> {
    return field<string | undefined>({ optional: true, parse: parseUrl });
  },
  bool(def: boolean): EnvSchema<boolean> {
    return field<boolean>({
      fallback: def,
      parse: (raw) => {
        const lower = raw.toLowerCase();
        if (TRUE_VALUES.has(lower)) return { ok: true, value: true };
        if (FALSE_VALUES.has(lower)) return { ok: true, value: false };
        return { ok: false, reason: `must be one of true, false, 1, 0 (got "${raw}")` };
      },
    });
  },
  oneOf<T extends string>(values: readonly T[], def: T): EnvSchema<T> {
    return field<T>({
      fallback: def,
      parse: (raw) =>
        (values as readonly string[]).includes(raw)
          ? { ok: true, value: raw as T }
          : { ok: false, reason: `must be one of ${values.join(', ')} (got "${raw}")` },
    });
  },
  /** "host:port", e.g. a gRPC target "127.0.0.1:50051". */
  hostPort(def: string): EnvSchema<string> {
    return field<string>({
      fallback: def,
      parse: (raw) => {
        const match = HOST_PORT.exec(raw);
        const port = match ? Number(match[2]) : NaN;
        if (!match || port < 1 || port > PORT_MAX) {
          return { ok: false, reason: `must be host:port with a port 1-${PORT_MAX} (got "${raw}")` };
        }
        return { ok: true, value: raw };
      },
    });
  },
};

export const NODE_ENVS = ['development', 'test', 'production'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh';
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** Variables every service reads. */
export const commonEnv = {
  NODE_ENV: env.oneOf(NODE_ENVS, 'development'),
  LOG_LEVEL: env.oneOf(LOG_LEVELS, 'info'),
  DATABASE_URL: env.url(DEFAULT_DATABASE_URL),
  AMQP_URL: env.url(DEFAULT_AMQP_URL),
};
