import { PipeTransform } from '@nestjs/common';
import type { z, ZodError } from 'zod';
import { ValidationFailed } from './api-error';
import type { FieldError } from './envelope';

/** `messages[0].content` style, the way a client would point at the field in its own JSON. */
export function formatFieldPath(path: ReadonlyArray<string | number>): string {
  if (path.length === 0) return 'body';
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

export function zodFieldErrors(error: ZodError, prefix: ReadonlyArray<string | number> = []): FieldError[] {
  return error.issues.map((issue) => ({ field: formatFieldPath([...prefix, ...issue.path]), reason: issue.message }));
}

/** An unpaired UTF-16 surrogate: JSON can carry one ("\ud800"), UTF-8 and PostgreSQL's jsonb cannot. */
const LONE_SURROGATE = /\p{Cs}/u;
export const LONE_SURROGATE_REASON = 'must not contain an unpaired UTF-16 surrogate (\\ud800–\\udfff without its pair)';

/** A value still to look at, with the way back to the root (paths are built only for a hit). */
interface Pending {
  value: unknown;
  key: string | number | undefined;
  parent: Pending | undefined;
}

function pathOf(node: Pending | undefined, last?: string): Array<string | number> {
  const path: Array<string | number> = last === undefined ? [] : [last];
  for (let n = node; n?.key !== undefined; n = n.parent) path.push(n.key);
  return path.reverse();
}

/**
 * The path of a string (value or key) in a parsed JSON body holding a lone surrogate (the first found),
 * else undefined. Iterative and linear: a deeply nested body cannot overflow the stack.
 */
export function loneSurrogatePath(value: unknown): Array<string | number> | undefined {
  const stack: Pending[] = [{ value, key: undefined, parent: undefined }];
  while (stack.length > 0) {
    const node = stack.pop() as Pending;
    const v = node.value;
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return pathOf(node);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], key: i, parent: node });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i];
        if (LONE_SURROGATE.test(key)) return pathOf(node, key);
        stack.push({ value: child, key, parent: node });
      }
    }
  }
  return undefined;
}

/**
 * 400 naming every bad field, never a 500: also for a lone surrogate anywhere in the input, which
 * would otherwise pass the schema and fail at PostgreSQL.
 */
export function parseOrThrow<S extends z.ZodTypeAny>(schema: S, value: unknown, prefix: ReadonlyArray<string | number> = []): z.infer<S> {
  const bad = loneSurrogatePath(value);
  if (bad) throw new ValidationFailed([{ field: formatFieldPath([...prefix, ...bad]), reason: LONE_SURROGATE_REASON }]);
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationFailed(zodFieldErrors(result.error, prefix));
  return result.data as z.infer<S>;
}

/** `@Body(new ZodValidationPipe(schema))`: 400 with every bad field named, never a 500. */
export class ZodValidationPipe<S extends z.ZodTypeAny> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    private readonly schema: S,
    private readonly prefix: ReadonlyArray<string | number> = [],
  ) {}

  transform(value: unknown): z.infer<S> {
    return parseOrThrow(this.schema, value, this.prefix);
  }
}
