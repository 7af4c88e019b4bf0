export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ContextChunk {
  chunkId: string;
  title: string;
  text: string;
  score: number;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface GenerateInput {
  model?: string;
  messages: ChatMessage[];
  context: ContextChunk[];
  maxTokens?: number;
  temperature?: number;
  persona?: string;
  signal?: AbortSignal;
}

export type GenerateEvent =
  | { type: 'delta'; text: string }
  | { type: 'done'; finishReason: string; usage: Usage; model: string };

export interface SummarizeInput {
  previousSummary: string;
  messages: ChatMessage[];
  maxSentences: number;
  signal?: AbortSignal;
}

export interface ChatEngine {
  readonly name: string;
  generate(input: GenerateInput): AsyncIterable<GenerateEvent>;
  summarize(input: SummarizeInput): Promise<string>;
  listModels(): Promise<string[]>;
}

export const LOCAL_ENGINE_MODEL = 'local-extractive';
export const LOCAL_SUMMARIZER_MODEL = 'local-extractive-summarizer';
/** Summaries never exceed this many sentences, whatever the caller asks. */
export const MAX_SUMMARY_SENTENCES = 3;

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
}
