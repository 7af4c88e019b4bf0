import { z } from 'zod';

/** Bad input from the caller; `field` is the request field at fault, spelled as in the proto. */
export class InvalidArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';

  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** A stored change whose event could not be published; retrying the call is safe (idempotent). */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}

// Commands use ts-proto's camelCase; callers know the proto's snake_case names.
const protoFieldName = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Parses a command with its schema; the first issue becomes an InvalidArgumentError naming
 * the field, so every transport reports bad input the same way.
 */
export function parseCommand<S extends z.ZodTypeAny>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data as z.output<S>;
  const issue = result.error.issues[0];
  const field = issue.path.length > 0 ? issue.path.map((p) => protoFieldName(String(p))).join('.') : 'request';
  throw new InvalidArgumentError(field, issue.message);
}
