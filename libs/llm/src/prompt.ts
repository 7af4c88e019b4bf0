import type { ChatMessage, GenerateInput } from './types';

export const DEFAULT_PERSONA = 'You are a helpful assistant.';

const RAG_INSTRUCTION =
  'Answer the question using only the numbered context below. Cite every statement with the number of the ' +
  'context it comes from, like [1] or [2][3]. If the context does not contain the answer, say so instead of ' +
  'guessing. Answer in the same language as the question.';
const PLAIN_INSTRUCTION = 'Answer in the same language as the question.';

/** Renders the context the way the citations refer to it: "[n] title\ntext", 1-based. */
export function renderContext(context: GenerateInput['context']): string {
  return context.map((c, i) => `[${i + 1}] ${c.title}`.trimEnd() + `\n${c.text}`).join('\n\n');
}

/**
 * One system message (persona + instruction + numbered context) followed by the conversation.
 * System messages in the input are folded into it: several chat templates (Llama, Gemma)
 * reject a system message anywhere but first.
 */
export function buildRagMessages(input: GenerateInput): ChatMessage[] {
  const extraSystem = input.messages.filter((m) => m.role === 'system').map((m) => m.content.trim()).filter(Boolean);
  const parts = [input.persona?.trim() || DEFAULT_PERSONA, ...extraSystem];
  if (input.context.length > 0) {
    parts.push(RAG_INSTRUCTION, `Context:\n${renderContext(input.context)}`);
  } else {
    parts.push(PLAIN_INSTRUCTION);
  }
  return [{ role: 'system', content: parts.join('\n\n') }, ...input.messages.filter((m) => m.role !== 'system')];
}

export function lastUserMessage(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].role === 'user') return messages[i].content;
  }
  return '';
}
