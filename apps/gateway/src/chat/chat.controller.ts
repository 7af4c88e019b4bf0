import { Body, Controller, HttpStatus, Inject, Logger, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { APP_CONFIG, type AppConfig } from '../config';
import { ApiError } from '../http/api-error';
import { grpcErrorMessage, grpcToHttpStatus, isGrpcError } from '../http/grpc-errors';
import { GatewayMetrics } from '../http/metrics';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { chatRequestSchema, type ChatRequestBody } from './chat.schema';
import { ChatCommand, ChatEvent, ChatSession, ChatUseCase } from './chat.use-case';
import { chunk, completion, type CompletionMeta, newCompletionId, unixSeconds, usageChunk } from './openai-format';
import { errorCodeFor, NamedSseWriter } from './named-sse';
import { SseWriter } from './sse';

export const SESSION_HEADER = 'x-session-id';

/** The response closed before the answer was complete: the client is gone, nobody to answer. */
class ClientGone extends Error {}

/** The error was already reported in the stream; rethrown only so the outcome is counted. */
class StreamFailed extends Error {
  constructor(readonly reason: unknown) {
    super('stream failed after it started');
  }
}

export function toCommand(body: ChatRequestBody): ChatCommand {
  return {
    model: body.model || undefined,
    messages: body.messages.map((m) => ({
      role: m.role === 'developer' ? 'system' : m.role,
      content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('\n'),
    })),
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    rag: body.rag,
    sessionId: body.session_id,
    persona: body.persona,
    filters: body.filters,
    topK: body.top_k,
    collection: body.collection,
    searchOptions: {
      timeRangeMonths: body.time_range?.months,
      timeAnchor: body.time_range?.anchor,
      minCandidates: body.time_range?.min_candidates,
      fusion: body.fusion,
      bm25Weight: body.bm25_weight,
    },
  };
}

function describeStreamError(err: unknown): { message: string; type: string; code: number } {
  if (isGrpcError(err)) {
    const code = grpcToHttpStatus(err.code);
    return { message: grpcErrorMessage(err), type: code < 500 ? 'invalid_request_error' : 'upstream_error', code };
  }
  if (err instanceof ApiError) return { message: err.message, type: 'invalid_request_error', code: err.getStatus() };
  return { message: 'internal error', type: 'server_error', code: 500 };
}

/** OpenAI-compatible chat completions; RAG options ride in extra body fields. */
@Controller('v1/chat')
export class ChatController {
  private readonly logger = new Logger(ChatController.name);

  constructor(
    private readonly chat: ChatUseCase,
    private readonly metrics: GatewayMetrics,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'CHAT_HEARTBEAT_MS'>,
  ) {}

  /**
   * The native stream: `reference`, `token`…, then `done` or `error`, every event numbered.
   * Failures before anything was sent keep their HTTP status (429/503), as on /completions; the
   * stream opens with the first upstream event, or after CHAT_HEARTBEAT_MS of waiting so the
   * heartbeats can start — from then on a failure is an `error` event, never a silent cut.
   */
  @Post('stream')
  async stream(@Body(new ZodValidationPipe(chatRequestSchema)) body: ChatRequestBody, @Res() res: Response): Promise<void> {
    let session: ChatSession;
    try {
      session = await this.chat.execute(toCommand(body));
    } catch (err) {
      this.metrics.chat(true, body.rag, 'error');
      throw err;
    }
    try {
      await this.streamEvents(session, res);
      this.metrics.chat(true, body.rag, 'ok');
    } catch (err) {
      if (err instanceof ClientGone) return this.metrics.chat(true, body.rag, 'cancelled');
      this.metrics.chat(true, body.rag, 'error');
      if (err instanceof StreamFailed) return this.logger.warn(`chat stream failed after it started: ${String(err.reason)}`);
      throw err;
    }
  }

  @Post('completions')
  async completions(@Body(new ZodValidationPipe(chatRequestSchema)) body: ChatRequestBody, @Res() res: Response): Promise<void> {
    const startedAt = performance.now();
    const stream = body.stream === true;
    let session: ChatSession;
    try {
      session = await this.chat.execute(toCommand(body));
    } catch (err) {
      this.metrics.chat(stream, body.rag, 'error');
      throw err;
    }
    const meta: CompletionMeta = { id: newCompletionId(), created: unixSeconds(), model: body.model ?? '' };
    const observeFirstToken = () => this.metrics.ttft.observe({ stream: String(stream) }, (performance.now() - startedAt) / 1000);
    try {
      if (stream) await this.streamAnswer(session, body, meta, res, observeFirstToken);
      else await this.answer(session, meta, res, observeFirstToken);
      this.metrics.chat(stream, body.rag, 'ok');
    } catch (err) {
      if (err instanceof ClientGone) return this.metrics.chat(stream, body.rag, 'cancelled');
      this.metrics.chat(stream, body.rag, 'error');
      if (err instanceof StreamFailed) return this.logger.warn(`chat stream failed after it started: ${String(err.reason)}`);
      throw err;
    }
  }

  private answer(session: ChatSession, meta: CompletionMeta, res: Response, onFirstToken: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let text = '';
      let done: Extract<ChatEvent, { type: 'done' }> | undefined;
      const subscription = session.events.subscribe({
        next: (event) => {
          if (event.type === 'delta') {
            if (text === '') onFirstToken();
            text += event.text;
          } else done = event;
        },
        error: (err: unknown) => reject(err),
        complete: () => {
          if (!done) return reject(new Error('generation ended without a final chunk'));
          res.setHeader(SESSION_HEADER, session.conversationId);
          res
            .status(200)
            .json(completion({ ...meta, model: done.model }, text, done.finishReason, done.usage, session.references, session.conversationId));
          resolve();
        },
      });
      // The caller hung up: unsubscribing cancels the gRPC call, which cancels the upstream request.
      res.on('close', () => {
        if (res.writableEnded) return;
        subscription.unsubscribe();
        reject(new ClientGone());
      });
    });
  }

  /**
   * SSE in OpenAI's chunk format. Headers go out with the first upstream event, so a failure
   * before any token is still an HTTP status the client can act on (429/503); after that an
   * error arrives as a `data: {"error": …}` event, never as a silent cut.
   */
  private streamAnswer(
    session: ChatSession,
    body: ChatRequestBody,
    meta: CompletionMeta,
    res: Response,
    onFirstToken: () => void,
  ): Promise<void> {
    const sse = new SseWriter(res);
    const includeUsage = body.stream_options?.include_usage === true;
    let sawToken = false;
    const begin = () => {
      if (sse.hasStarted) return;
      sse.start({ [SESSION_HEADER]: session.conversationId });
      sse.send(chunk(meta, { role: 'assistant', content: '' }, null, { references: session.references, session_id: session.conversationId }));
    };
    return new Promise<void>((resolve, reject) => {
      const subscription = session.events.subscribe({
        next: (event) => {
          begin();
          if (event.type === 'delta') {
            if (!sawToken) onFirstToken();
            sawToken = true;
            sse.send(chunk(meta, { content: event.text }));
            return;
          }
          const final = { ...meta, model: event.model };
          sse.send(chunk(final, {}, event.finishReason));
          if (includeUsage) sse.send(usageChunk(final, event.usage));
        },
        error: (err: unknown) => {
          if (!sse.hasStarted) return reject(err);
          const { message, type, code } = describeStreamError(err);
          sse.fail(message, type, code);
          reject(new StreamFailed(err));
        },
        complete: () => {
          begin();
          sse.done();
          resolve();
        },
      });
      res.on('close', () => {
        if (res.writableEnded) return;
        subscription.unsubscribe();
        reject(new ClientGone());
      });
    });
  }

  private streamEvents(session: ChatSession, res: Response): Promise<void> {
    const sse = new NamedSseWriter(res, this.config.CHAT_HEARTBEAT_MS);
    const { startedAt, retrievalMs } = session.timings;
    let ttftMs: number | undefined;
    let finished = false;
    const begin = () => {
      clearTimeout(openAnyway);
      if (sse.hasStarted) return;
      sse.start({ [SESSION_HEADER]: session.conversationId });
      sse.send('reference', {
        session_id: session.conversationId,
        references: session.references.map((r) => ({ chunk_id: r.chunk_id, document_id: r.document_id, title: r.title, score: r.score })),
      });
    };
    // A slow first token must not leave the client with nothing: open the stream so heartbeats flow.
    const openAnyway = setTimeout(begin, this.config.CHAT_HEARTBEAT_MS);
    return new Promise<void>((resolve, reject) => {
      const subscription = session.events.subscribe({
        next: (event) => {
          begin();
          if (event.type === 'delta') {
            if (ttftMs === undefined) {
              ttftMs = performance.now() - startedAt;
              this.metrics.ttft.observe({ stream: 'true' }, ttftMs / 1000);
            }
            sse.send('token', { text: event.text });
            return;
          }
          finished = true;
          sse.finish('done', {
            finish_reason: event.finishReason,
            usage: event.usage,
            timings: { retrieval_ms: round(retrievalMs), ttft_ms: round(ttftMs ?? 0), total_ms: round(performance.now() - startedAt) },
            turn_index: event.turnIndex,
          });
        },
        error: (err: unknown) => {
          clearTimeout(openAnyway);
          if (!sse.hasStarted) return reject(err);
          const { message, code } = describeStreamError(err);
          sse.finish('error', { code: errorCodeFor(code), message, status: code });
          reject(new StreamFailed(err));
        },
        complete: () => {
          begin();
          // The use-case always ends with `done`; should it ever not, the client still learns the answer is incomplete.
          if (!finished) {
            sse.finish('error', { code: errorCodeFor(HttpStatus.BAD_GATEWAY), message: 'generation ended without a final chunk', status: HttpStatus.BAD_GATEWAY });
            return reject(new StreamFailed(new Error('generation ended without a final chunk')));
          }
          resolve();
        },
      });
      res.on('close', () => {
        clearTimeout(openAnyway);
        const ended = res.writableEnded;
        sse.close();
        if (ended) return;
        // The caller hung up: unsubscribing cancels the gRPC call, which cancels the upstream request.
        subscription.unsubscribe();
        reject(new ClientGone());
      });
    });
  }
}

/** Timings are reported to a tenth of a millisecond; finer digits are noise. */
const round = (ms: number): number => Math.round(ms * 10) / 10;
