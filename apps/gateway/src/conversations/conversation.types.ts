/** A retrieved chunk an answer was grounded in, as clients see it (snake_case, like the rest of the API). */
export interface Reference {
  chunk_id: string;
  document_id: string;
  title: string;
  score: number;
  text: string;
}

export interface TurnUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface Conversation {
  id: string;
  summary: string | null;
  /** The last turn the summary covers (inclusive); null when there is no summary. */
  summaryTurnIndex: number | null;
  turnCount: number;
  createdAt: Date;
  updatedAt: Date;
}

export type MessageRole = 'user' | 'assistant';

export interface StoredMessage {
  turnIndex: number;
  role: MessageRole;
  content: string;
  model: string | null;
  references: Reference[];
  usage: TurnUsage | null;
  createdAt: Date;
}

export interface NewTurn {
  conversationId: string;
  question: string;
  answer: string;
  model: string;
  references: Reference[];
  usage: TurnUsage;
}

export interface SummaryUpdate {
  /** The envelope id: the idempotency key. */
  messageId: string;
  conversationId: string;
  upToTurnIndex: number;
  summary: string;
}

/** duplicate: this message was applied before; stale: a newer summary is already stored. */
export type SummaryOutcome = 'applied' | 'duplicate' | 'stale';

export class UnknownConversationError extends Error {
  constructor(readonly conversationId: string) {
    super(`conversation ${conversationId} does not exist`);
  }
}
