import { countTokens, splitSentences, tokenize } from '@ragmesh/text';
import { buildRagMessages, lastUserMessage } from './prompt';
import {
  LOCAL_ENGINE_MODEL,
  LOCAL_SUMMARIZER_MODEL,
  MAX_SUMMARY_SENTENCES,
  usageOf,
  type ChatEngine,
  type ChatMessage,
  type ContextChunk,
  type GenerateEvent,
  type GenerateInput,
  type SummarizeInput,
} from './types';

/** The extractive answer quotes at most this many context sentences. */
export const LOCAL_MAX_ANSWER_SENTENCES = 4;

export const LOCAL_FALLBACKS = {
  noContext: {
    ko: '저는 제공된 문서에 있는 내용으로만 답변할 수 있는데, 이 질문과 관련된 문서를 찾지 못했습니다.',
    en: 'I can only answer from the provided documents, and no documents were found for this question.',
  },
  noMatch: {
    ko: '찾은 문서에는 이 질문에 대한 답이 없습니다.',
    en: 'The documents found do not contain an answer to this question.',
  },
} as const;

const HANGUL = /\p{Script=Hangul}/u;

interface Candidate {
  chunk: number;
  position: number;
  text: string;
  score: number;
}

/**
 * The embedded engine: no model, so it never writes a sentence of its own. It quotes the
 * context sentences that share the most (rarity-weighted) tokens with the question, in
 * context order, each followed by its citation [n]; without usable context it says so.
 */
export class LocalExtractiveEngine implements ChatEngine {
  readonly name = LOCAL_ENGINE_MODEL;

  async *generate(input: GenerateInput): AsyncGenerator<GenerateEvent> {
    input.signal?.throwIfAborted();
    const answer = extractiveAnswer(lastUserMessage(input.messages), input.context);
    const promptTokens = buildRagMessages(input).reduce((n, m) => n + countTokens(m.content), 0);
    let emitted = '';
    let finishReason = 'stop';
    for (const piece of answer.match(/\S+\s*/gu) ?? []) {
      // Yield to the event loop between pieces so a cancellation can land mid-answer.
      await new Promise<void>((resolve) => setImmediate(resolve));
      input.signal?.throwIfAborted();
      if (input.maxTokens !== undefined && countTokens(emitted + piece) > input.maxTokens) {
        finishReason = 'length';
        break;
      }
      emitted += piece;
      yield { type: 'delta', text: piece };
    }
    yield { type: 'done', finishReason, usage: usageOf(promptTokens, countTokens(emitted)), model: LOCAL_ENGINE_MODEL };
  }

  async summarize(input: SummarizeInput): Promise<string> {
    input.signal?.throwIfAborted();
    return extractiveSummary(input.previousSummary, input.messages, input.maxSentences);
  }

  async listModels(): Promise<string[]> {
    return [LOCAL_ENGINE_MODEL, LOCAL_SUMMARIZER_MODEL];
  }
}

const QUESTION_SENTENCE = /[?？]["'”’)\]]*$/;
/** A sentence is quoted only when it scores at least this share of the best sentence. */
export const LOCAL_MIN_RELATIVE_SCORE = 0.3;

export function extractiveAnswer(question: string, context: ContextChunk[]): string {
  const lang = HANGUL.test(question) ? 'ko' : 'en';
  const candidates: Candidate[] = [];
  context.forEach((chunk, c) => {
    splitSentences(chunk.text).forEach((text, position) => candidates.push({ chunk: c, position, text, score: 0 }));
  });
  if (candidates.length === 0) return LOCAL_FALLBACKS.noContext[lang];

  const questionTerms = new Set(tokenize(question));
  const sentenceTerms = candidates.map((c) => new Set(tokenize(c.text)));
  const documentFrequency = new Map<string, number>();
  for (const terms of sentenceTerms) for (const t of terms) documentFrequency.set(t, (documentFrequency.get(t) ?? 0) + 1);
  candidates.forEach((candidate, i) => {
    let weight = 0;
    for (const t of questionTerms) {
      // Rarer terms weigh more: a term found in every sentence says nothing about which one answers.
      if (sentenceTerms[i].has(t)) weight += Math.log(1 + candidates.length / (documentFrequency.get(t) ?? 1));
    }
    candidate.score = weight / Math.sqrt(Math.max(sentenceTerms[i].size, 1));
  });

  // A question quoted from the context (an FAQ's "질문: …?") is not an answer to the user's.
  const answers = candidates.filter((c) => c.score > 0 && !QUESTION_SENTENCE.test(c.text));
  const best = Math.max(0, ...answers.map((c) => c.score));
  const chosen = answers
    // Sentences far weaker than the best match are other topics sharing a word or two.
    .filter((c) => c.score >= best * LOCAL_MIN_RELATIVE_SCORE)
    .sort((a, b) => b.score - a.score || a.chunk - b.chunk || a.position - b.position)
    .slice(0, LOCAL_MAX_ANSWER_SENTENCES)
    .sort((a, b) => a.chunk - b.chunk || a.position - b.position);
  if (chosen.length === 0) return LOCAL_FALLBACKS.noMatch[lang];
  return chosen.map((c) => `${c.text} [${c.chunk + 1}]`).join(' ');
}

/**
 * Picks the most central sentences (highest summed token-set cosine with all the others)
 * of the previous summary and the new messages, at most min(maxSentences, 3), in order.
 */
export function extractiveSummary(previousSummary: string, messages: ChatMessage[], maxSentences: number): string {
  if (!Number.isInteger(maxSentences) || maxSentences < 1) {
    throw new RangeError(`summarize: maxSentences must be a positive integer, got ${maxSentences}`);
  }
  const limit = Math.min(maxSentences, MAX_SUMMARY_SENTENCES);
  const sentences = [
    ...new Set([
      ...splitSentences(previousSummary),
      ...messages.filter((m) => m.role !== 'system').flatMap((m) => splitSentences(m.content)),
    ]),
  ];
  if (sentences.length <= limit) return sentences.join(' ');
  const terms = sentences.map((s) => new Set(tokenize(s)));
  const centrality = terms.map((a, i) =>
    terms.reduce((sum, b, j) => {
      if (i === j || a.size === 0 || b.size === 0) return sum;
      let shared = 0;
      for (const t of a) if (b.has(t)) shared++;
      return sum + shared / Math.sqrt(a.size * b.size);
    }, 0),
  );
  return sentences
    .map((text, i) => ({ text, i, score: centrality[i] }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, limit)
    .sort((a, b) => a.i - b.i)
    .map((s) => s.text)
    .join(' ');
}
