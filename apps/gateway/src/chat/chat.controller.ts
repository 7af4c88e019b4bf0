import { Body, Controller, Get, Headers, HttpStatus, Inject, Logger, Optional, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { randomUUID } from 'node:crypto';
import { principalOf } from '../auth/principal';
import { RequireScope } from '../auth/scopes.decorator';
import { TENANT_METADATA_KEY } from '../documents/document-owners.repository';
import { APP_CONFIG, type AppConfig } from '../config';
import { ApiError, ValidationFailed } from '../http/api-error';
import { ok } from '../http/envelope';
import { GatewayMetrics } from '../http/metrics';
import { parseOrThrow } from '../http/zod-validation.pipe';
import { CallbackDelivery } from './callback-stream';
import { CallbackSender, CallbackUrlRejected } from './callback-sender';
import { beforeStartError, describeFailure, errorEvent } from './chat-errors';
import { ChatMetrics } from './chat.metrics';
import { chatRequestSchema, type ChatRequestBody } from './chat.schema';
import { ChatCommand, ChatEvent, ChatMessage, ChatSession, ChatUseCase } from './chat.use-case';
import { ClientGone, followRecording, recordSession, STREAM_ID_HEADER, StreamFailed } from './native-stream';
import { chunk, completion, type CompletionMeta, deltaChunkJson, newCompletionId, unixSeconds, usageChunk } from './openai-format';
import { type StreamEvents } from './named-sse';
import { parseResumeRequest } from './resume-request';
import { SseWriter } from './sse';
import { OwnerUnreachable } from './stream-forwarder';
import { LOCAL_ROUTE, type ResumeRoute, StreamOwners } from './stream-owners';
import { StreamRegistry } from './stream-registry';

export const SESSION_HEADER = 'x-session-id';

type RequestMessage = ChatRequestBody['messages'][number];

function toMessage(m: RequestMessage): ChatMessage {
  const role = m.role === 'developer' ? 'system' : m.role;
  if (typeof m.content === 'string') return { role, content: m.content };
  const text = m.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('\n');
  if (!m.content.some((p) => p.type === 'image_url')) return { role, content: text };
  const parts = m.content.map((p) =>
    p.type === 'text' ? { type: 'text' as const, text: p.text } : { type: 'image_url' as const, imageUrl: p.image_url.url, detail: p.image_url.detail },
  );
  return { role, content: text, parts };
}

/** The command for the calling key: its tenant scopes the data, its id is charged the answer's tokens. */
function commandOf(body: ChatRequestBody, res: Response): ChatCommand {
  const principal = principalOf(res.req);
  return { ...toCommand(body, principal.tenant), keyId: principal.keyId };
}

export function toCommand(body: ChatRequestBody, tenant: string): ChatCommand {
  return {
    tenant,
    model: body.model || undefined,
    messages: body.messages.map(toMessage),
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    rag: body.rag,
    sessionId: body.session_id,
    persona: body.persona,
    // Retrieval sees only the caller's tenant's documents.
    filters: { ...body.filters, [TENANT_METADATA_KEY]: tenant },
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
  const { message, status } = describeFailure(err);
  const type = status >= 500 ? (status === HttpStatus.INTERNAL_SERVER_ERROR ? 'server_error' : 'upstream_error') : 'invalid_request_error';
  return { message, type, code: status };
}

/** How the rewrite is shown to clients (reference event, completion body). */
function queryView(session: ChatSession): Record<string, unknown> | undefined {
  const r = session.rewrite;
  if (!r) return undefined;
  return { text: r.query, keywords: r.keywords, table_intent: r.tableIntent, time_range: r.timeRange ?? null, source: r.source };
}

type ChatConfig = Pick<AppConfig, 'CHAT_HEARTBEAT_MS' | 'CHAT_CALLBACK_FLUSH_MS'>;

/**
 * Runs `gone` when the client hangs up before the answer was written — also when it already did
 * (during retrieval, say), since 'close' does not fire twice.
 */
export function onClientGone(res: Pick<Response, 'writableEnded' | 'closed' | 'destroyed' | 'on'>, gone: () => void): void {
  if (res.writableEnded) return;
  if (res.closed || res.destroyed) return gone();
  res.on('close', () => {
    if (!res.writableEnded) gone();
  });
}

/** OpenAI-compatible chat completions; RAG options ride in extra body fields. */
@Controller('v1/chat')
@RequireScope('chat')
export class ChatController {
  private readonly logger = new Logger(ChatController.name);

  constructor(
    private readonly chat: ChatUseCase,
    private readonly metrics: GatewayMetrics,
    private readonly chatMetrics: ChatMetrics,
    private readonly streams: StreamRegistry,
    private readonly callbacks: CallbackSender,
    @Inject(APP_CONFIG) private readonly config: ChatConfig,
    // Absent only where a test builds the controller by hand: every resume is then served locally.
    @Optional() private readonly owners?: StreamOwners,
  ) {}

  /**
   * The native stream: `reference`, `token`…, then `done` or `error`, every event numbered.
   * Failures before anything was sent keep their HTTP status (422/429/503), as on /completions; the
   * stream opens with the first upstream event, or after CHAT_HEARTBEAT_MS of waiting so the
   * heartbeats can start — from then on a failure is an `error` event, never a silent cut.
   * With `Last-Event-ID` and `X-Stream-Id` headers it resumes that stream instead (body ignored).
   */
  @Post('stream')
  async stream(
    @Body() raw: unknown,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Headers(STREAM_ID_HEADER) streamId: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    if (lastEventId !== undefined && streamId !== undefined) return this.resume(streamId, lastEventId, res);
    if (lastEventId !== undefined) throw new ValidationFailed([{ field: STREAM_ID_HEADER, reason: 'is required with Last-Event-ID to resume a stream' }]);
    const body = parseOrThrow(chatRequestSchema, raw);
    if (body.response_url) return this.acceptCallback(body, body.response_url, res);
    const session = await this.begin(body, true, res);
    try {
      await this.streamEvents(session, res);
      this.metrics.chat(true, body.rag, 'ok');
    } catch (err) {
      this.settle(err, true, body.rag, res);
    }
  }

  /**
   * Resumes a native stream for EventSource clients: the browser sends `Last-Event-ID` itself
   * when it reconnects; `?last_event_id=` serves the first connection. 404 unknown, 410 expired,
   * 204 when the stream ended at that id (EventSource stops reconnecting on 204).
   */
  @Get('stream/:streamId')
  resumeGet(
    @Param('streamId') streamId: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Query('last_event_id') queryLastEventId: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    return this.resume(streamId, lastEventId ?? queryLastEventId ?? '0', res);
  }

  @Post('completions')
  async completions(@Body() raw: unknown, @Res() res: Response): Promise<void> {
    const body = parseOrThrow(chatRequestSchema, raw);
    if (body.response_url) return this.acceptCallback(body, body.response_url, res);
    const startedAt = performance.now();
    const stream = body.stream === true;
    const session = await this.begin(body, stream, res);
    const meta: CompletionMeta = { id: newCompletionId(), created: unixSeconds(), model: body.model ?? '' };
    const observeFirstToken = () => this.metrics.ttft.observe({ stream: String(stream) }, (performance.now() - startedAt) / 1000);
    try {
      if (stream) await this.streamAnswer(session, body, meta, res, observeFirstToken);
      else await this.answer(session, meta, res, observeFirstToken);
      this.metrics.chat(stream, body.rag, 'ok');
    } catch (err) {
      this.settle(err, stream, body.rag, res);
    }
  }

  private async begin(body: ChatRequestBody, stream: boolean, res: Response): Promise<ChatSession> {
    try {
      return await this.chat.execute(commandOf(body, res));
    } catch (err) {
      this.metrics.chat(stream, body.rag, 'error');
      throw beforeStartError(err, res);
    }
  }

  /** Counts the outcome; rethrows what must still become an HTTP error (nothing was sent yet). */
  private settle(err: unknown, stream: boolean, rag: boolean, res: Response): void {
    if (err instanceof ClientGone) return this.metrics.chat(stream, rag, 'cancelled');
    this.metrics.chat(stream, rag, 'error');
    if (err instanceof StreamFailed) return this.logger.warn(`chat stream failed after it started: ${String(err.reason)}`);
    throw beforeStartError(err, res);
  }

  /** 202 at once; the turn runs afterwards and its answer is POSTed to `response_url` in pieces. */
  private async acceptCallback(body: ChatRequestBody, url: string, res: Response): Promise<void> {
    try {
      await this.callbacks.check(url);
    } catch (err) {
      if (err instanceof CallbackUrlRejected) throw new ValidationFailed([{ field: 'response_url', reason: err.message }]);
      throw err;
    }
    const requestId = randomUUID();
    const sessionId = body.session_id ?? randomUUID();
    const delivery = new CallbackDelivery(this.callbacks, { url, requestId, sessionId }, this.config.CHAT_CALLBACK_FLUSH_MS, this.chatMetrics);
    res.setHeader(SESSION_HEADER, sessionId);
    res.status(HttpStatus.ACCEPTED).json(ok('accepted: the answer will be POSTed to response_url', { request_id: requestId, session_id: sessionId }));
    await delivery.run(() => this.chat.execute({ ...commandOf(body, res), sessionId }));
    this.metrics.chat(true, body.rag, 'ok');
  }

  private async resume(rawStreamId: string, rawLastEventId: string, res: Response): Promise<void> {
    const { streamId, owner, afterId } = parseResumeRequest(rawStreamId, rawLastEventId);
    const route = this.owners ? await this.owners.route(owner, res.req) : LOCAL_ROUTE;
    if (this.owners && route.kind !== 'local') return this.resumeAtOwner(this.owners, streamId, route, res);
    const lookup = this.streams.lookup(streamId, principalOf(res.req).tenant);
    if ('expired' in lookup) {
      this.chatMetrics.resumes.inc({ outcome: 'expired' });
      throw new ApiError(HttpStatus.GONE, `stream ${streamId} has expired (streams stay resumable for CHAT_RESUME_RETENTION_MS after they end)`);
    }
    if ('unknown' in lookup) {
      this.chatMetrics.resumes.inc({ outcome: 'unknown' });
      throw new ApiError(HttpStatus.NOT_FOUND, `stream ${streamId} not found on this gateway`);
    }
    const recording = lookup.found;
    if (afterId > recording.lastId) {
      throw new ValidationFailed([{ field: 'Last-Event-ID', reason: `is past the stream's last event (${recording.lastId})` }]);
    }
    if (recording.finished && afterId === recording.lastId) {
      this.chatMetrics.resumes.inc({ outcome: 'complete' });
      res.status(HttpStatus.NO_CONTENT).end();
      return;
    }
    this.chatMetrics.resumes.inc({ outcome: recording.finished ? 'finished' : 'live' });
    const headers = { [SESSION_HEADER]: recording.conversationId, [STREAM_ID_HEADER]: recording.id };
    const follower = followRecording(res, recording, { afterId, heartbeatMs: this.config.CHAT_HEARTBEAT_MS, headers, startNow: true });
    await follower.outcome.catch(() => undefined);
  }

  /**
   * Another replica holds the stream: its answer is relayed as it comes (the owner checks key
   * and tenant itself). An owner that stopped, or refuses connections, took its streams along: 410.
   */
  private async resumeAtOwner(owners: StreamOwners, streamId: string, route: Exclude<ResumeRoute, { kind: 'local' }>, res: Response): Promise<void> {
    if (route.kind === 'owner-unknown') {
      this.chatMetrics.resumes.inc({ outcome: 'owner_unknown' });
      throw new ApiError(HttpStatus.NOT_FOUND, `stream ${streamId} not found: it names gateway replica ${route.owner}, which no gateway knows`);
    }
    const gone = () => new ApiError(HttpStatus.GONE, `stream ${streamId} is gone: gateway replica ${route.owner}, which served it, has stopped`);
    if (route.kind === 'owner-gone') {
      this.chatMetrics.resumes.inc({ outcome: 'owner_gone' });
      throw gone();
    }
    try {
      await owners.forward(route.internalUrl, res.req, res);
      this.chatMetrics.resumes.inc({ outcome: 'forwarded' });
    } catch (err) {
      if (!(err instanceof OwnerUnreachable)) throw err;
      this.logger.warn({ stream: streamId, replica: route.owner, internalUrl: route.internalUrl, code: err.code }, 'resume not forwarded: the owning replica did not answer');
      // Nothing listens at its address: the process is gone, and its streams with it.
      if (err.code === 'ECONNREFUSED') {
        this.chatMetrics.resumes.inc({ outcome: 'owner_gone' });
        throw gone();
      }
      this.chatMetrics.resumes.inc({ outcome: 'owner_unreachable' });
      throw new ApiError(HttpStatus.BAD_GATEWAY, `stream ${streamId} is held by gateway replica ${route.owner}, which did not answer (${err.code}); retry the resume`);
    }
  }

  private streamEvents(session: ChatSession, res: Response): Promise<void> {
    const recording = this.streams.create(session.conversationId, principalOf(res.req).tenant);
    const headers = { [SESSION_HEADER]: session.conversationId, [STREAM_ID_HEADER]: recording.id };
    const reference: StreamEvents['reference'] = {
      session_id: session.conversationId,
      stream_id: recording.id,
      references: session.references.map((r) => ({ chunk_id: r.chunk_id, document_id: r.document_id, title: r.title, score: r.score })),
      ...(session.rewrite ? { query: queryView(session) } : {}),
    };
    const follower = followRecording(res, recording, { afterId: 0, heartbeatMs: this.config.CHAT_HEARTBEAT_MS, headers, startNow: false });
    return new Promise<void>((resolve, reject) => {
      follower.outcome.then(resolve, reject);
      recordSession(session, recording, {
        heartbeatMs: this.config.CHAT_HEARTBEAT_MS,
        reference,
        onFirstToken: (ttftMs) => this.metrics.ttft.observe({ stream: 'true' }, ttftMs / 1000),
        // Nothing was sent: the failure is this request's HTTP status, and there is nothing to resume.
        onEarlyError: (err) => {
          follower.detach();
          this.streams.discard(recording.id);
          reject(err);
        },
        describeError: errorEvent,
      });
    });
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
          const body = completion({ ...meta, model: done.model }, text, done.finishReason, done.usage, session.references, session.conversationId);
          res.status(200).json({ ...body, ...(session.rewrite ? { query: queryView(session) } : {}) });
          resolve();
        },
      });
      // The caller hung up: unsubscribing cancels the gRPC call, which cancels the upstream request.
      onClientGone(res, () => {
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
    const deltaJson = deltaChunkJson(meta);
    let sawToken = false;
    const begin = () => {
      if (sse.hasStarted) return;
      sse.start({ [SESSION_HEADER]: session.conversationId }, false);
      sse.send(chunk(meta, { role: 'assistant', content: '' }, null, { references: session.references, session_id: session.conversationId }));
    };
    return new Promise<void>((resolve, reject) => {
      const subscription = session.events.subscribe({
        next: (event) => {
          begin();
          if (event.type === 'delta') {
            if (!sawToken) onFirstToken();
            sawToken = true;
            sse.send(deltaJson(event.text));
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
      onClientGone(res, () => {
        subscription.unsubscribe();
        reject(new ClientGone());
      });
    });
  }
}
