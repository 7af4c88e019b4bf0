import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { getCorrelationId, runWithCorrelationId } from '@ragmesh/observability';
import { Observable } from 'rxjs';
import { RateLimits } from '../auth/rate-limits';
import { APP_CONFIG, type AppConfig } from '../config';
import type { Conversation, Reference, StoredMessage, TurnUsage } from '../conversations/conversation.types';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { GenerationRepository, listenToChunks, type GenerateChunk, type GenerateRequest } from '../grpc/generation.repository';
import { RetrievalRepository } from '../grpc/retrieval.repository';
import { EventsRepository } from '../messaging/events.repository';
import { searchOptionFields, type SearchOptions } from '../search/search-options';
import { ChatMetrics } from './chat.metrics';
import { fitPromptBudget } from './prompt-budget';
import { searchText, type RewrittenQuery } from './query-rewrite';
import { QueryRewriter } from './query-rewriter';

/** An OpenAI content part as the proxy takes it: text, or an image by URL (http(s) or data:). */
export interface ContentPart {
  type: 'text' | 'image_url';
  text?: string;
  imageUrl?: string;
  detail?: string;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  /** The text (of the parts, when there are parts). */
  content: string;
  /** Set only when the message carries images: they pass through to a multimodal upstream. */
  parts?: ContentPart[];
}

export interface ChatCommand {
  model?: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  rag: boolean;
  /** The conversation id; a new conversation when absent. */
  sessionId?: string;
  /** The API key's tenant: a session id of another tenant is not found. */
  tenant: string;
  /** The calling API key: its tokens-per-minute budget is charged the completion tokens (the guard charged the prompt). */
  keyId?: string;
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

export interface PromptReport {
  /** Estimated prompt tokens (persona + context + memory + question). */
  tokens: number;
  droppedMemory: number;
  droppedContext: number;
}

export interface ChatSession {
  conversationId: string;
  /** The chunks put into the prompt, best first. */
  references: Reference[];
  /** How the question was rewritten for retrieval; absent with rag off. */
  rewrite?: RewrittenQuery;
  prompt?: PromptReport;
  /** `startedAt` is performance.now() when the turn began; retrieval is 0 with rag off. */
  timings: { startedAt: number; retrievalMs: number };
  /** Cold: subscribing starts generation, unsubscribing cancels it upstream. Completes after the turn is stored. */
  events: Observable<ChatEvent>;
}

export type ChatConfig = Pick<AppConfig, 'CHAT_HISTORY_TURNS' | 'CHAT_TOP_K' | 'CHAT_PROMPT_TOKEN_BUDGET' | 'CHAT_PERSONA'>;

const DEFAULT_FINISH_REASON = 'stop';
const UNKNOWN_MODEL = 'unknown';
const SUMMARY_PREFIX = 'Summary of the conversation so far: ';

export class MissingQuestionError extends Error {
  constructor() {
    super('messages must contain a user message');
  }
}

function toProtoMessage(m: ChatMessage): GenerateRequest['messages'][number] {
  if (!m.parts) return { role: m.role, content: m.content };
  const parts = m.parts.map((p) => ({ type: p.type, text: p.text ?? '', imageUrl: p.imageUrl ?? '', detail: p.detail ?? '' }));
  return { role: m.role, content: m.content, contentParts: { parts } };
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
    private readonly rewriter: QueryRewriter,
    private readonly metrics: ChatMetrics,
    @Optional() private readonly limits?: RateLimits,
  ) {}

  async execute(cmd: ChatCommand): Promise<ChatSession> {
    const questionIndex = cmd.messages.findLastIndex((m) => m.role === 'user');
    if (questionIndex < 0) throw new MissingQuestionError();
    const question = cmd.messages[questionIndex].content;
    const startedAt = performance.now();
    let retrievalMs = 0;

    // Retrieval does not wait for the conversation (time to first token): only an LLM rewrite reads its memory.
    const loaded = this.conversations
      .openWithHistory(cmd.sessionId, cmd.tenant, this.config.CHAT_HISTORY_TURNS)
      .then(({ conversation, messages }) => ({ conversation, memory: this.memory(conversation, messages) }));
    const [{ conversation, memory }, { references, rewrite }] = await Promise.all([
      loaded,
      cmd.rag && question.trim() !== ''
        ? this.retrieve(question, cmd, async () => (await loaded).memory).finally(() => {
            retrievalMs = performance.now() - startedAt;
          })
        : Promise.resolve({ references: [], rewrite: undefined }),
    ]).catch(async (err: unknown) => {
      // Failed before generation (retrieval down, …): a conversation opened for this request is settled
      // like one whose turn failed, so nothing is left waiting in the repository's pending set.
      if (cmd.sessionId === undefined) {
        const opened = await loaded.catch(() => undefined);
        if (opened) this.conversations.releaseNew(opened.conversation.id);
      }
      throw err;
    });

    const persona = cmd.persona ?? (this.config.CHAT_PERSONA || undefined);
    const { messages, context, prompt } = this.fitPrompt(cmd.messages, questionIndex, memory, references, persona);
    const request: GenerateRequest = {
      model: cmd.model ?? '',
      messages: messages.map(toProtoMessage),
      context: context.map((r) => ({ chunkId: r.chunk_id, title: r.title, text: r.text, score: r.score })),
      // proto3 scalars: 0 means "the proxy's default".
      maxTokens: cmd.maxTokens ?? 0,
      temperature: cmd.temperature ?? 0,
      sessionId: conversation.id,
      persona: persona ?? '',
    };

    const events = this.generate(request, { conversationId: conversation.id, question, references: context, requestedModel: cmd.model, keyId: cmd.keyId });
    return {
      conversationId: conversation.id,
      references: context,
      ...(rewrite ? { rewrite } : {}),
      prompt,
      timings: { startedAt, retrievalMs },
      // A new conversation's row is stored with its first turn; a turn that ends unrecorded (failed, cancelled) stores it then.
      // The subscriber is handed on as it is: no operator between the per-token events and it.
      events:
        cmd.sessionId === undefined
          ? new Observable<ChatEvent>((subscriber) => {
              subscriber.add(() => this.conversations.releaseNew(conversation.id));
              return events.subscribe(subscriber);
            })
          : events,
    };
  }

  /**
   * Persona (+ the request's system messages) + context + memory + question within
   * CHAT_PROMPT_TOKEN_BUDGET. Memory is the stored memory, then the request's own earlier
   * messages; the oldest goes first, then the lowest-ranked context; the question stays.
   */
  private fitPrompt(
    requestMessages: ChatMessage[],
    questionIndex: number,
    stored: ChatMessage[],
    references: Reference[],
    persona: string | undefined,
  ): { messages: ChatMessage[]; context: Reference[]; prompt: PromptReport } {
    const system = requestMessages.filter((m) => m.role === 'system');
    const earlier = requestMessages.slice(0, questionIndex).filter((m) => m.role !== 'system');
    const fitted = fitPromptBudget(
      {
        persona: [persona ?? '', ...system.map((m) => m.content)].join('\n\n'),
        context: references,
        memory: [...stored, ...earlier],
        question: requestMessages[questionIndex],
      },
      this.config.CHAT_PROMPT_TOKEN_BUDGET,
    );
    const dropped = new Set<ChatMessage>(earlier.slice(0, Math.max(0, fitted.droppedMemory - stored.length)));
    if (fitted.droppedMemory > 0) this.metrics.promptDropped.inc({ part: 'memory' }, fitted.droppedMemory);
    if (fitted.droppedContext > 0) this.metrics.promptDropped.inc({ part: 'context' }, fitted.droppedContext);
    return {
      messages: [...stored.slice(Math.min(fitted.droppedMemory, stored.length)), ...requestMessages.filter((m) => !dropped.has(m))],
      context: fitted.context,
      prompt: { tokens: fitted.tokens, droppedMemory: fitted.droppedMemory, droppedContext: fitted.droppedContext },
    };
  }

  /**
   * The rolling summary replaces the turns it covers; turns the summarizer has not reached yet
   * still follow it, so nothing said since the summary is forgotten. Without a summary: the last N turns
   * (the repository loads exactly those: memoryStart).
   */
  private memory(conversation: Conversation, turns: StoredMessage[]): ChatMessage[] {
    const summary: ChatMessage[] = conversation.summary ? [{ role: 'system', content: SUMMARY_PREFIX + conversation.summary }] : [];
    return [...summary, ...turns.map((m) => ({ role: m.role, content: m.content }))];
  }

  /** Rewrite, then search; a time range the client gave wins over the one read from the question. */
  private async retrieve(
    question: string,
    cmd: ChatCommand,
    history: () => Promise<ChatMessage[]>,
  ): Promise<{ references: Reference[]; rewrite: RewrittenQuery }> {
    const options: SearchOptions = { ...(cmd.searchOptions ?? {}) };
    const clientWindow = options.timeRangeMonths !== undefined;
    let rewrite = await this.rewriter.rewrite({ question, model: cmd.model ?? '', history });
    // Time words leave the query only when they become the filter; the client's window wins over them.
    if (clientWindow) rewrite = { ...rewrite, query: question, timeRange: undefined };
    else if (rewrite.timeRange) {
      options.timeRangeMonths = rewrite.timeRange.months;
      options.timeAnchor = rewrite.timeRange.end;
    }
    const search = (o: SearchOptions) =>
      this.retrieval.search({
        query: searchText(rewrite),
        topK: cmd.topK ?? this.config.CHAT_TOP_K,
        collection: cmd.collection ?? '',
        filters: cmd.filters ?? {},
        ...searchOptionFields(o),
      });
    let { results } = await search(options);
    // A window read from the question is a hint: documents without published_at never match one,
    // so when it leaves nothing, search without it rather than answer from no context.
    if (results.length === 0 && !clientWindow && rewrite.timeRange) {
      ({ results } = await search({ ...options, timeRangeMonths: undefined, timeAnchor: undefined }));
      rewrite = { ...rewrite, timeRange: { ...rewrite.timeRange, ignored: true } };
    }
    const references = results.map((r) => ({ chunk_id: r.chunkId, document_id: r.documentId, title: r.title, score: r.score, text: r.text }));
    return { references, rewrite };
  }

  private generate(
    request: GenerateRequest,
    turn: { conversationId: string; question: string; references: Reference[]; requestedModel?: string; keyId?: string },
  ): Observable<ChatEvent> {
    return new Observable<ChatEvent>((subscriber) => {
      // gRPC stream callbacks run in the connection's async context, not the request's:
      // keep the request's correlation id for the turn event published at the end.
      const correlationId = getCorrelationId();
      let answer = '';
      let last: GenerateChunk | undefined;
      // A plain listener on the gRPC call: per token, no subscriber chain between the call and this turn.
      const cancel = listenToChunks(this.generation.generateStream(request), {
        chunk: (chunk) => {
          if (chunk.delta) {
            answer += chunk.delta;
            subscriber.next({ type: 'delta', text: chunk.delta });
          }
          if (chunk.finishReason || chunk.usage) last = chunk;
        },
        error: (err: unknown) => subscriber.error(err),
        end: () => {
          const usage: TurnUsage = {
            prompt_tokens: last?.usage?.promptTokens ?? 0,
            completion_tokens: last?.usage?.completionTokens ?? 0,
            total_tokens: last?.usage?.totalTokens ?? 0,
          };
          const model = last?.model || turn.requestedModel || UNKNOWN_MODEL;
          const finishReason = last?.finishReason || DEFAULT_FINISH_REASON;
          this.chargeCompletion(turn.keyId, usage.completion_tokens);
          runWithCorrelationId(correlationId, () => this.complete({ ...turn, answer, model, usage })).then(
            (turnIndex) => {
              subscriber.next({ type: 'done', finishReason, usage, model, turnIndex });
              subscriber.complete();
            },
            (err: unknown) => subscriber.error(err),
          );
        },
      });
      return cancel;
    });
  }

  /**
   * The answer's tokens count against the key's tokens-per-minute budget after the fact (they
   * are unknown at admission): the next request past the budget is the one refused.
   */
  private chargeCompletion(keyId: string | undefined, completionTokens: number): void {
    if (!this.limits || !keyId || completionTokens <= 0) return;
    this.limits.consume('tokens', keyId, completionTokens).catch((err: unknown) => {
      this.logger.warn(`completion tokens not charged to the key's budget: ${String(err)}`);
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
