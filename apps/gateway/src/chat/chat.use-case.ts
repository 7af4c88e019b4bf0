import { Inject, Injectable, Logger } from '@nestjs/common';
import { getCorrelationId, runWithCorrelationId } from '@ragmesh/observability';
import { Observable } from 'rxjs';
import { APP_CONFIG, type AppConfig } from '../config';
import type { Conversation, Reference, TurnUsage } from '../conversations/conversation.types';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { GenerationRepository, type GenerateChunk, type GenerateRequest } from '../grpc/generation.repository';
import { RetrievalRepository } from '../grpc/retrieval.repository';
import { EventsRepository } from '../messaging/events.repository';
import { searchOptionFields, type SearchOptions } from '../search/search-options';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatCommand {
  model?: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  rag: boolean;
  /** The conversation id; a new conversation when absent. */
  sessionId?: string;
  persona?: string;
  filters?: Record<string, string>;
  topK?: number;
  collection?: string;
  /** Time window and fusion options for the retrieval search; unset ones are the service's defaults. */
  searchOptions?: SearchOptions;
}

export type ChatEvent =
  | { type: 'delta'; text: string }
  | { type: 'done'; finishReason: string; usage: TurnUsage; model: string; turnIndex: number };

export interface ChatSession {
  conversationId: string;
  references: Reference[];
  /** `startedAt` is performance.now() when the turn began; retrieval is 0 with rag off. */
  timings: { startedAt: number; retrievalMs: number };
  /** Cold: subscribing starts generation, unsubscribing cancels it upstream. Completes after the turn is stored. */
  events: Observable<ChatEvent>;
}

export type ChatConfig = Pick<AppConfig, 'CHAT_HISTORY_TURNS' | 'CHAT_TOP_K'>;

const DEFAULT_FINISH_REASON = 'stop';
const UNKNOWN_MODEL = 'unknown';
const SUMMARY_PREFIX = 'Summary of the conversation so far: ';

export class MissingQuestionError extends Error {
  constructor() {
    super('messages must contain a user message');
  }
}

/**
 * One chat turn: conversation → memory → retrieval → generation → stored turn → event.
 * Stream and non-stream responses are the same pipeline; only the controller's rendering differs.
 */
@Injectable()
export class ChatUseCase {
  private readonly logger = new Logger(ChatUseCase.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: ChatConfig,
    private readonly conversations: ConversationsRepository,
    private readonly retrieval: RetrievalRepository,
    private readonly generation: GenerationRepository,
    private readonly events: EventsRepository,
  ) {}

  async execute(cmd: ChatCommand): Promise<ChatSession> {
    const question = [...cmd.messages].reverse().find((m) => m.role === 'user')?.content;
    if (question === undefined) throw new MissingQuestionError();
    const startedAt = performance.now();
    let retrievalMs = 0;

    // Retrieval does not depend on the conversation: both run at once to keep time to first token low.
    const [{ conversation, memory }, references] = await Promise.all([
      this.conversations.findOrCreate(cmd.sessionId).then(async (c) => ({ conversation: c, memory: await this.memory(c) })),
      cmd.rag
        ? this.search(question, cmd).finally(() => {
            retrievalMs = performance.now() - startedAt;
          })
        : Promise.resolve([]),
    ]);

    const request: GenerateRequest = {
      model: cmd.model ?? '',
      messages: [...memory, ...cmd.messages],
      context: references.map((r) => ({ chunkId: r.chunk_id, title: r.title, text: r.text, score: r.score })),
      // proto3 scalars: 0 means "the proxy's default".
      maxTokens: cmd.maxTokens ?? 0,
      temperature: cmd.temperature ?? 0,
      sessionId: conversation.id,
      persona: cmd.persona ?? '',
    };

    return {
      conversationId: conversation.id,
      references,
      timings: { startedAt, retrievalMs },
      events: this.generate(request, { conversationId: conversation.id, question, references, requestedModel: cmd.model }),
    };
  }

  /**
   * The rolling summary replaces the turns it covers; turns the summarizer has not reached yet
   * still follow it, so nothing said since the summary is forgotten. Without a summary: the last N turns.
   */
  private async memory(conversation: Conversation): Promise<ChatMessage[]> {
    const memory: ChatMessage[] = [];
    let from = conversation.turnCount - this.config.CHAT_HISTORY_TURNS;
    if (conversation.summary) {
      memory.push({ role: 'system', content: SUMMARY_PREFIX + conversation.summary });
      from = Math.max(from, (conversation.summaryTurnIndex ?? -1) + 1);
    }
    from = Math.max(from, 0);
    if (from < conversation.turnCount) {
      const turns = await this.conversations.messagesBetween(conversation.id, from, conversation.turnCount);
      memory.push(...turns.map((m) => ({ role: m.role, content: m.content })));
    }
    return memory;
  }

  private async search(question: string, cmd: ChatCommand): Promise<Reference[]> {
    const { results } = await this.retrieval.search({
      query: question,
      topK: cmd.topK ?? this.config.CHAT_TOP_K,
      collection: cmd.collection ?? '',
      filters: cmd.filters ?? {},
      ...searchOptionFields(cmd.searchOptions ?? {}),
    });
    return results.map((r) => ({ chunk_id: r.chunkId, document_id: r.documentId, title: r.title, score: r.score, text: r.text }));
  }

  private generate(
    request: GenerateRequest,
    turn: { conversationId: string; question: string; references: Reference[]; requestedModel?: string },
  ): Observable<ChatEvent> {
    return new Observable<ChatEvent>((subscriber) => {
      // gRPC stream callbacks run in the connection's async context, not the request's:
      // keep the request's correlation id for the turn event published at the end.
      const correlationId = getCorrelationId();
      let answer = '';
      let last: GenerateChunk | undefined;
      const upstream = this.generation.generateStream(request).subscribe({
        next: (chunk) => {
          if (chunk.delta) {
            answer += chunk.delta;
            subscriber.next({ type: 'delta', text: chunk.delta });
          }
          if (chunk.finishReason || chunk.usage) last = chunk;
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          const usage: TurnUsage = {
            prompt_tokens: last?.usage?.promptTokens ?? 0,
            completion_tokens: last?.usage?.completionTokens ?? 0,
            total_tokens: last?.usage?.totalTokens ?? 0,
          };
          const model = last?.model || turn.requestedModel || UNKNOWN_MODEL;
          const finishReason = last?.finishReason || DEFAULT_FINISH_REASON;
          runWithCorrelationId(correlationId, () => this.complete({ ...turn, answer, model, usage })).then(
            (turnIndex) => {
              subscriber.next({ type: 'done', finishReason, usage, model, turnIndex });
              subscriber.complete();
            },
            (err: unknown) => subscriber.error(err),
          );
        },
      });
      return () => upstream.unsubscribe();
    });
  }

  private async complete(turn: {
    conversationId: string;
    question: string;
    answer: string;
    model: string;
    usage: TurnUsage;
    references: Reference[];
  }): Promise<number> {
    const { turnIndex } = await this.conversations.recordTurn({
      conversationId: turn.conversationId,
      question: turn.question,
      answer: turn.answer,
      model: turn.model,
      references: turn.references,
      usage: turn.usage,
    });
    try {
      await this.events.turnCompleted({
        conversationId: turn.conversationId,
        turnIndex,
        question: turn.question,
        answer: turn.answer,
        model: turn.model,
        referenceChunkIds: turn.references.map((r) => r.chunk_id),
        completedAt: new Date().toISOString(),
      });
    } catch (err) {
      // The answer is delivered and stored; failing the request now would only make the client retry a finished turn.
      this.logger.error(`conversation.turn.completed not published for ${turn.conversationId}#${turnIndex}: ${String(err)}`);
    }
    return turnIndex;
  }
}
