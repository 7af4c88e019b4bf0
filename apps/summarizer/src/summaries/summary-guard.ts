import { splitSentences } from '@ragmesh/text';

/**
 * Keeps at most `maxSentences` sentences of what the generation proxy returned: an upstream
 * LLM may ignore max_sentences, and what is stored here goes into every later prompt.
 */
export function limitSentences(text: string, maxSentences: number): string {
  return splitSentences(text).slice(0, maxSentences).join(' ');
}
