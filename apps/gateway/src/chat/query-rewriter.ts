import { Inject, Injectable, Logger } from '@nestjs/common';
import { GrpcStatus } from '@ragmesh/contracts';
import { APP_CONFIG, type AppConfig } from '../config';
import { isGrpcError } from '../http/grpc-errors';
import { GenerationRepository, type ModelInfo } from '../grpc/generation.repository';
import { ChatMetrics } from './chat.metrics';
import { fromLlmRewrite, parseLlmRewrite, rewriteInstruction, ruleBasedRewrite, type RewrittenQuery } from './query-rewrite';
import { RewriteModelRepository } from './rewrite-model.repository';

export type RewriteConfig = Pick<AppConfig, 'CHAT_QUERY_REWRITE' | 'CHAT_REWRITE_TIMEOUT_MS'>;

/** "up to 3 retries": the first call plus three more, each told what was wrong with the last answer. */
export const REWRITE_MAX_RETRIES = 3;
/** The JSON answer is short; a cap keeps a rambling model from holding the request. */
export const REWRITE_MAX_TOKENS = 256;
/** How long the served-model list is trusted before asking the proxy again. */
export const MODELS_CACHE_MS = 30_000;
/** Earlier messages shown to the model so it can resolve "it", "그거". */
export const REWRITE_HISTORY_MESSAGES = 4;
const HISTORY_MESSAGE_CHARS = 1000;
const LOCAL_MODEL_PREFIX = 'local-';
/** Transient gRPC failures worth another attempt; every other code ends the LLM attempts at once. */
const RETRYABLE_CODES: ReadonlySet<number> = new Set([GrpcStatus.UNAVAILABLE, GrpcStatus.ABORTED, GrpcStatus.INTERNAL, GrpcStatus.DEADLINE_EXCEEDED]);

function isRetryable(err: unknown): boolean {
  return !isGrpcError(err) || RETRYABLE_CODES.has(err.code);
}
const LOCAL_KIND = 'local';

export interface RewriteInput {
  question: string;
  /** The model the chat asked for ('' = the proxy's default). */
  model: string;
  /** Earlier conversation, oldest first; awaited only when the LLM rewrites. */
  history: () => Promise<{ role: 'system' | 'user' | 'assistant'; content: string }[]>;
  now?: Date;
}

/**
 * Rewrites the question before retrieval. With an LLM upstream behind the proxy: a JSON
 * rewrite, validated, retried with the reason on a bad answer, and the rules as the fallback.
 * With only the local engine: the rules (they read Korean and English time expressions).
 */
@Injectable()
export class QueryRewriter {
  private readonly logger = new Logger(QueryRewriter.name);
  private models: { at: number; list: Promise<ModelInfo[]> } | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: RewriteConfig,
    private readonly generation: GenerationRepository,
    private readonly model: RewriteModelRepository,
    private readonly metrics: ChatMetrics,
  ) {}

  async rewrite(input: RewriteInput): Promise<RewrittenQuery> {
    const now = input.now ?? new Date();
    const started = performance.now();
    const result = (await this.usesLlm(input.model)) ? await this.llmRewrite(input, now) : ruleBasedRewrite(input.question, now);
    this.metrics.rewrites.inc({ source: result.source });
    this.metrics.rewriteDuration.observe({ source: result.source }, (performance.now() - started) / 1000);
    return result;
  }

  private async usesLlm(model: string): Promise<boolean> {
    const mode = this.config.CHAT_QUERY_REWRITE;
    if (mode !== 'auto') return mode === 'llm';
    if (model.startsWith(LOCAL_MODEL_PREFIX)) return false;
    const models = await this.servedModels();
    if (model === '') return models.some((m) => m.kind !== LOCAL_KIND);
    return models.some((m) => m.id === model && m.kind !== LOCAL_KIND);
  }

  private servedModels(): Promise<ModelInfo[]> {
    if (!this.models || Date.now() - this.models.at > MODELS_CACHE_MS) {
      // A proxy that cannot list its models cannot be trusted with a rewrite either: the rules answer.
      this.models = { at: Date.now(), list: this.generation.listModels().catch(() => []) };
    }
    return this.models.list;
  }

  private async llmRewrite(input: RewriteInput, now: Date): Promise<RewrittenQuery> {
    const deadline = Date.now() + this.config.CHAT_REWRITE_TIMEOUT_MS;
    const history = (await input.history())
      .filter((m) => m.role !== 'system')
      .slice(-REWRITE_HISTORY_MESSAGES)
      .map((m) => ({ role: m.role, content: m.content.slice(0, HISTORY_MESSAGE_CHARS) }));
    const messages = [...history, { role: 'user' as const, content: input.question }];
    let attempts = 0;
    let lastReason = '';
    while (attempts <= REWRITE_MAX_RETRIES && Date.now() < deadline) {
      attempts++;
      try {
        const answer = await this.model.complete({
          model: input.model,
          instruction: rewriteInstruction(now),
          messages,
          maxTokens: REWRITE_MAX_TOKENS,
          deadlineMs: Math.max(1, deadline - Date.now()),
        });
        const parsed = parseLlmRewrite(answer);
        if (parsed.ok) return fromLlmRewrite(parsed.value, input.question, attempts);
        lastReason = parsed.reason;
        messages.push(
          { role: 'assistant', content: answer.slice(0, HISTORY_MESSAGE_CHARS) },
          { role: 'user', content: `That answer was not usable (${parsed.reason}). Reply with the JSON object only.` },
        );
      } catch (err) {
        lastReason = err instanceof Error ? err.message : String(err);
        // Asking again cannot help when the proxy refused the call itself (unknown model, full queue…).
        if (!isRetryable(err)) break;
      }
    }
    this.logger.warn(`query rewrite fell back to the rules after ${attempts} LLM attempt(s): ${lastReason}`);
    return ruleBasedRewrite(input.question, now, 'fallback', attempts);
  }
}
