import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';

export interface Envelope<T> {
  status: 'ok' | 'error';
  message: string;
  data: T;
}

export interface FieldError {
  field: string;
  reason: string;
}

export const ok = <T>(message: string, data: T): Envelope<T> => ({ status: 'ok', message, data });

export function invalid(message: string, errors: FieldError[]): BadRequestException {
  return new BadRequestException({ status: 'error', message: `${message}: ${errors.map((e) => `${e.field} ${e.reason}`).join('; ')}`, data: { errors } });
}

function fieldOf(issue: z.ZodIssue, prefix: string): string {
  const path = issue.code === z.ZodIssueCode.unrecognized_keys ? [...issue.path, issue.keys[0] ?? ''] : issue.path;
  const name = path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc === '' ? part : `${acc}.${part}`), '');
  return name === '' ? prefix || 'body' : prefix ? `${prefix}.${name}` : name;
}

/** Validates one HTTP input (body, query or a path parameter); a failure is a 400 naming every bad field. */
export function parseOr400<S extends z.ZodTypeAny>(schema: S, value: unknown, what: string, prefix = ''): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data as z.infer<S>;
  throw invalid(`invalid ${what}`, result.error.issues.map((i) => ({ field: fieldOf(i, prefix), reason: i.message })));
}
