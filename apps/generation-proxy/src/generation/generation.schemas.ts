import type { generation } from '@ragmesh/contracts';
import type { ChatMessage, ContextChunk } from '@ragmesh/llm';
import { z } from 'zod';

export const MAX_TOKENS_LIMIT = 8192;
export const MAX_TEMPERATURE = 2;
/** Summaries are at most three sentences (product rule); larger requests are capped. */
export const MAX_SUMMARY_SENTENCES = 3;

export class InvalidRequestError extends Error {
  override readonly name = 'InvalidRequestError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

const ROLES = ['system', 'user', 'assistant'] as const;

const chatMessage = z.object({
  role: z.enum(ROLES, { errorMap: () => ({ message: `must be one of ${ROLES.join(', ')}` }) }),
  content: z.string(),
});

const contextChunk = z.object({
  chunkId: z.string(),
  title: z.string(),
  text: z.string(),
  score: z.number().finite(),
});

const messages = z.array(chatMessage).min(1, 'must not be empty');

const generateRequest = z.object({
  model: z.string(),
  messages,
  context: z.array(contextChunk),
  maxTokens: z
    .number()
    .int('must be an integer')
    .min(0, 'must be >= 0')
    .max(MAX_TOKENS_LIMIT, `must be <= ${MAX_TOKENS_LIMIT}`),
  temperature: z.number().min(0, 'must be >= 0').max(MAX_TEMPERATURE, `must be <= ${MAX_TEMPERATURE}`),
  sessionId: z.string(),
  persona: z.string(),
});

const summarizeRequest = z.object({
  previousSummary: z.string(),
  messages,
  maxSentences: z.number().int('must be an integer').min(0, 'must be >= 0'),
  model: z.string(),
});

export interface GenerateCommand {
  model: string;
  messages: ChatMessage[];
  context: ContextChunk[];
  maxTokens?: number;
  temperature?: number;
  sessionId?: string;
  persona?: string;
}

export interface SummarizeCommand {
  model: string;
  previousSummary: string;
  messages: ChatMessage[];
  maxSentences: number;
}

const SNAKE_CASE_FIELDS: Record<string, string> = {
  maxTokens: 'max_tokens',
  sessionId: 'session_id',
  chunkId: 'chunk_id',
  previousSummary: 'previous_summary',
  maxSentences: 'max_sentences',
};

/** Names the field as the proto spells it: callers see `messages[0].role`, `max_tokens`. */
export function fieldName(path: readonly (string | number)[]): string {
  let name = '';
  for (const part of path) {
    if (typeof part === 'number') name += `[${part}]`;
    else name += `${name === '' ? '' : '.'}${SNAKE_CASE_FIELDS[part] ?? part}`;
  }
  return name === '' ? 'request' : name;
}

function parse<T extends z.ZodTypeAny>(schema: T, input: unknown): z.infer<T> {
  // proto-loader fills defaults, but a hand-built request may omit repeated/scalar fields.
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new InvalidRequestError(fieldName(issue.path), issue.message);
  }
  return result.data as z.infer<T>;
}

function withProtoDefaults<T extends object>(defaults: T, request: unknown): T {
  return { ...defaults, ...(typeof request === 'object' && request !== null ? request : {}) };
}

// proto3 cannot tell 0 from unset: 0 for max_tokens / temperature means "engine default".
const unsetIfZero = (value: number): number | undefined => (value === 0 ? undefined : value);

export function toGenerateCommand(request: Partial<generation.GenerateRequest> | undefined): GenerateCommand {
  const parsed = parse(
    generateRequest,
    withProtoDefaults(
      { model: '', messages: [], context: [], maxTokens: 0, temperature: 0, sessionId: '', persona: '' },
      request,
    ),
  );
  return {
    model: parsed.model.trim(),
    messages: parsed.messages,
    context: parsed.context,
    maxTokens: unsetIfZero(parsed.maxTokens),
    temperature: unsetIfZero(parsed.temperature),
    sessionId: parsed.sessionId || undefined,
    persona: parsed.persona || undefined,
  };
}

export function toSummarizeCommand(request: Partial<generation.SummarizeRequest> | undefined): SummarizeCommand {
  const parsed = parse(
    summarizeRequest,
    withProtoDefaults({ previousSummary: '', messages: [], maxSentences: 0, model: '' }, request),
  );
  return {
    model: parsed.model.trim(),
    previousSummary: parsed.previousSummary,
    messages: parsed.messages,
    maxSentences: Math.min(parsed.maxSentences || MAX_SUMMARY_SENTENCES, MAX_SUMMARY_SENTENCES),
  };
}
