import { countTokens } from '@ragmesh/text';

/** What chat templates add around every message (role markers, separators), as OpenAI counts it. */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** The "[n] title" line and the blank line around each rendered context chunk. */
export const CONTEXT_OVERHEAD_TOKENS = 3;

export interface BudgetMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface BudgetChunk {
  title: string;
  text: string;
}

export interface PromptParts<C extends BudgetChunk> {
  /** Persona and the request's own system messages: always kept. */
  persona: string;
  /** Ranked best first. */
  context: C[];
  /** Oldest first: the rolling summary (when there is one), stored turns, then earlier messages of the request. */
  memory: BudgetMessage[];
  /** The question (the request's last user message): always kept. */
  question: BudgetMessage;
}

export interface FittedPrompt<C extends BudgetChunk> {
  context: C[];
  memory: BudgetMessage[];
  /** Estimated prompt tokens of what was kept. */
  tokens: number;
  droppedMemory: number;
  droppedContext: number;
  /** True when persona + question alone exceed the budget: sent anyway, the question is never cut. */
  overBudget: boolean;
}

const messageTokens = (m: BudgetMessage): number => countTokens(m.content) + MESSAGE_OVERHEAD_TOKENS;
const chunkTokens = (c: BudgetChunk): number => countTokens(c.title) + countTokens(c.text) + CONTEXT_OVERHEAD_TOKENS;

/**
 * Fits persona + context + memory + question into `budget` tokens: the oldest memory goes first
 * (an answer never stays without its question), then the lowest-ranked context; the persona and
 * the question are never dropped.
 */
export function fitPromptBudget<C extends BudgetChunk>(parts: PromptParts<C>, budget: number): FittedPrompt<C> {
  const fixed = countTokens(parts.persona) + MESSAGE_OVERHEAD_TOKENS + messageTokens(parts.question);
  const memoryCosts = parts.memory.map(messageTokens);
  const contextCosts = parts.context.map(chunkTokens);
  let total = fixed + sum(memoryCosts) + sum(contextCosts);

  let memoryFrom = 0;
  while (total > budget && memoryFrom < parts.memory.length) {
    total -= memoryCosts[memoryFrom++];
    // An assistant answer left first would be an answer to nothing.
    while (memoryFrom < parts.memory.length && parts.memory[memoryFrom].role === 'assistant') total -= memoryCosts[memoryFrom++];
  }
  let contextTo = parts.context.length;
  while (total > budget && contextTo > 0) total -= contextCosts[--contextTo];

  return {
    context: parts.context.slice(0, contextTo),
    memory: parts.memory.slice(memoryFrom),
    tokens: total,
    droppedMemory: memoryFrom,
    droppedContext: parts.context.length - contextTo,
    overBudget: total > budget,
  };
}

function sum(values: number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
