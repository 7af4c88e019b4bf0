import { countTokens } from '@ragmesh/text';
import { type BudgetMessage, CONTEXT_OVERHEAD_TOKENS, fitPromptBudget, MESSAGE_OVERHEAD_TOKENS } from './prompt-budget';

const words = (n: number, w = 'word') => Array.from({ length: n }, () => w).join(' ');
const msg = (role: BudgetMessage['role'], content: string): BudgetMessage => ({ role, content });
const chunk = (id: string, n: number) => ({ id, title: id, text: words(n) });
const cost = (m: BudgetMessage) => countTokens(m.content) + MESSAGE_OVERHEAD_TOKENS;
const chunkCost = (c: { title: string; text: string }) => countTokens(c.title) + countTokens(c.text) + CONTEXT_OVERHEAD_TOKENS;

const persona = 'You are a concise assistant.';
const question = msg('user', '서울의 인구는 얼마인가요?');
const memory = [
  msg('system', 'Summary of the conversation so far: the user asked about Korea.'),
  msg('user', words(20, 'old')),
  msg('assistant', words(20, 'older')),
  msg('user', words(20, 'recent')),
  msg('assistant', words(20, 'reply')),
];
const context = [chunk('best', 40), chunk('second', 40), chunk('worst', 40)];

function fullCost(): number {
  return countTokens(persona) + MESSAGE_OVERHEAD_TOKENS + cost(question) + memory.reduce((n, m) => n + cost(m), 0) + context.reduce((n, c) => n + chunkCost(c), 0);
}

describe('fitPromptBudget', () => {
  it('keeps everything that fits, and reports the estimate', () => {
    const fitted = fitPromptBudget({ persona, context, memory, question }, 10_000);
    expect(fitted).toMatchObject({ memory, context, droppedMemory: 0, droppedContext: 0, overBudget: false, tokens: fullCost() });
  });

  it('drops the oldest memory first, before any context', () => {
    const budget = fullCost() - cost(memory[0]);
    const fitted = fitPromptBudget({ persona, context, memory, question }, budget);
    expect(fitted.memory).toEqual(memory.slice(1));
    expect(fitted.context).toEqual(context);
    expect(fitted.tokens).toBeLessThanOrEqual(budget);
  });

  it('never leaves an answer without its question: a turn goes as a pair', () => {
    const budget = fullCost() - cost(memory[0]) - 1;
    const fitted = fitPromptBudget({ persona, context, memory, question }, budget);
    expect(fitted.memory).toEqual(memory.slice(3));
    expect(fitted.droppedMemory).toBe(3);
  });

  it('then drops the lowest-ranked context', () => {
    const memoryCost = memory.reduce((n, m) => n + cost(m), 0);
    const budget = fullCost() - memoryCost - chunkCost(context[2]);
    const fitted = fitPromptBudget({ persona, context, memory, question }, budget);
    expect(fitted.memory).toEqual([]);
    expect(fitted.context.map((c) => c.id)).toEqual(['best', 'second']);
    expect(fitted).toMatchObject({ droppedMemory: memory.length, droppedContext: 1, overBudget: false });
  });

  it('never drops the persona or the question, even over budget', () => {
    const fitted = fitPromptBudget({ persona, context, memory, question: msg('user', words(500)) }, 50);
    expect(fitted.memory).toEqual([]);
    expect(fitted.context).toEqual([]);
    expect(fitted.overBudget).toBe(true);
    expect(fitted.tokens).toBe(countTokens(persona) + MESSAGE_OVERHEAD_TOKENS + cost(msg('user', words(500))));
  });

  it('counts Korean text by its own token rate', () => {
    const korean = msg('user', '가'.repeat(300));
    const english = msg('user', words(300));
    expect(cost(korean)).toBeLessThan(cost(english));
    const fitted = fitPromptBudget({ persona, context: [], memory: [korean, msg('assistant', 'ok'), english], question }, 10_000);
    expect(fitted.droppedMemory).toBe(0);
  });
});
