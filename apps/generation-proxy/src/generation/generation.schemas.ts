import type { generation } from '@ragmesh/contracts';
import type { ContextChunk } from '@ragmesh/llm';
import { z } from 'zod';
import type { ContentPart, ProxyChatMessage } from '../engines/content-parts';

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

const PART_TYPES = ['text', 'image_url'] as const;
const DETAILS = ['', 'auto', 'low', 'high'] as const;
/** An image is a fetchable URL or inline base64; anything else would only fail at the upstream. */
const IMAGE_URL = /^(https?:\/\/\S+|data:image\/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=\s]+)$/iu;

const contentPart = z
  .object({
    type: z.enum(PART_TYPES, { errorMap: () => ({ message: `must be one of ${PART_TYPES.join(', ')}` }) }),
    text: z.string().default(''),
    imageUrl: z.string().default(''),
    detail: z.enum(DETAILS, { errorMap: () => ({ message: 'must be one of auto, low, high' }) }).default(''),
  })
  .superRefine((part, ctx) => {
    if (part.type === 'image_url' && !IMAGE_URL.test(part.imageUrl)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['imageUrl'], message: 'must be an http(s) URL or a data:image/…;base64 URL' });
    }
  });

const chatMessage = z.object({
  role: z.enum(ROLES, { errorMap: () => ({ message: `must be one of ${ROLES.join(', ')}` }) }),
  content: z.string(),
  // proto-loader gives an unset optional message as null or undefined.
  contentParts: z.object({ parts: z.array(contentPart).default([]) }).nullish(),
});

function toPart(p: z.infer<typeof contentPart>): ContentPart {
  if (p.type === 'text') return { type: 'text', text: p.text };
  return { type: 'image_url', imageUrl: p.imageUrl, ...(p.detail ? { detail: p.detail } : {}) };
}

/** Parts become the message; `content` falls back to their text so text-only engines still read it. */
function toMessage(m: z.infer<typeof chatMessage>): ProxyChatMessage {
  const parts = m.contentParts?.parts ?? [];
  if (parts.length === 0) return { role: m.role, content: m.content };
  const text = parts.filter((p) => p.type === 'text').map((p) => p.text).join('\n');
  return { role: m.role, content: m.content || text, parts: parts.map(toPart) };
}

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
  messages: ProxyChatMessage[];
  context: ContextChunk[];
  maxTokens?: number;
  temperature?: number;
  sessionId?: string;
  persona?: string;
}

export interface SummarizeCommand {
  model: string;
  previousSummary: string;
  messages: ProxyChatMessage[];
  maxSentences: number;
}

const SNAKE_CASE_FIELDS: Record<string, string> = {
  maxTokens: 'max_tokens',
  sessionId: 'session_id',
  chunkId: 'chunk_id',
  contentParts: 'content_parts',
  imageUrl: 'image_url',
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
    messages: parsed.messages.map(toMessage),
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
    messages: parsed.messages.map(toMessage),
    maxSentences: Math.min(parsed.maxSentences || MAX_SUMMARY_SENTENCES, MAX_SUMMARY_SENTENCES),
  };
}
