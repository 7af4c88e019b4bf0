import { randomUUID } from 'node:crypto';
import type { Reference, TurnUsage } from '../conversations/conversation.types';

/** Shapes of OpenAI's chat completion API, plus the gateway's extra fields (`references`, `session_id`). */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: { index: 0; message: { role: 'assistant'; content: string }; finish_reason: string }[];
  usage: TurnUsage;
  references: Reference[];
  session_id: string;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: 0; delta: { role?: 'assistant'; content?: string }; finish_reason: string | null }[];
  usage?: TurnUsage | null;
  references?: Reference[];
  session_id?: string;
}

export const newCompletionId = (): string => `chatcmpl-${randomUUID().replace(/-/g, '')}`;
export const unixSeconds = (): number => Math.floor(Date.now() / 1000);

export interface CompletionMeta {
  id: string;
  created: number;
  model: string;
}

export function completion(
  meta: CompletionMeta,
  content: string,
  finishReason: string,
  usage: TurnUsage,
  references: Reference[],
  sessionId: string,
): ChatCompletion {
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finishReason }],
    usage,
    references,
    session_id: sessionId,
  };
}

export function chunk(
  meta: CompletionMeta,
  delta: ChatCompletionChunk['choices'][0]['delta'],
  finishReason: string | null = null,
  extra: Pick<ChatCompletionChunk, 'references' | 'session_id'> = {},
): ChatCompletionChunk {
  return {
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
    ...extra,
  };
}

/** OpenAI's trailing usage chunk (stream_options.include_usage): no choices, only usage. */
export function usageChunk(meta: CompletionMeta, usage: TurnUsage): ChatCompletionChunk {
  return { id: meta.id, object: 'chat.completion.chunk', created: meta.created, model: meta.model, choices: [], usage };
}

const DELTA_TAIL = '},"finish_reason":null}]}';
const EMPTY_CONTENT = '"content":""';

/**
 * The JSON of one stream's content-delta chunks: `chunk(meta, { content })` serialized, with
 * everything around the text computed once per stream; per token only the text is escaped.
 */
export function deltaChunkJson(meta: CompletionMeta): (content: string) => string {
  const empty = JSON.stringify(chunk(meta, { content: '' }));
  const head = empty.slice(0, empty.length - DELTA_TAIL.length - EMPTY_CONTENT.length) + '"content":';
  return (content) => head + JSON.stringify(content) + DELTA_TAIL;
}
