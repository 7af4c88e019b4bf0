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

export function parseOrThrow<S extends z.ZodTypeAny>(schema: S, value: unknown, prefix: ReadonlyArray<string | number> = []): z.infer<S> {
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
