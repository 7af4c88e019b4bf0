import type { ChatMessage } from '@ragmesh/llm';

/** One OpenAI content part as the proxy carries it (from the proto's ContentPart). */
export type ContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; imageUrl: string; detail?: 'auto' | 'low' | 'high' };

/**
 * A chat message that may carry content parts. `content` stays the text of the parts, so
 * engines that read no images (the local engine, prompt builders) still see the words.
 */
export interface ProxyChatMessage extends ChatMessage {
  parts?: ContentPart[];
}

export function hasImageParts(messages: readonly ProxyChatMessage[]): boolean {
  for (const m of messages) {
    if (m.parts?.some((p) => p.type === 'image_url')) return true;
  }
  return false;
}

type OpenAiPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string; detail?: string } };

/** The message as /v1/chat/completions takes it: a string, or OpenAI content parts. */
export function toOpenAiMessage(m: ProxyChatMessage): { role: string; content: string | OpenAiPart[] } {
  if (!m.parts || m.parts.length === 0) return { role: m.role, content: m.content };
  return {
    role: m.role,
    content: m.parts.map((p): OpenAiPart =>
      p.type === 'text' ? { type: 'text', text: p.text } : { type: 'image_url', image_url: { url: p.imageUrl, ...(p.detail ? { detail: p.detail } : {}) } },
    ),
  };
}
