import * as grpc from '@grpc/grpc-js';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { EVENTS_EXCHANGE, type Envelope, type generation, type MessagePayload, type retrieval } from '@ragmesh/contracts';
import { Messaging } from '@ragmesh/messaging';
import * as amqplib from 'amqplib';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import type { DataSource } from 'typeorm';
import { createGatewayApp } from './app';
import { loadAppConfig } from './config';
import { ConversationsRepository } from './conversations/conversations.repository';
import { DATA_SOURCE } from '@ragmesh/persistence';
import { authFetch, TEST_API_KEY } from '../test/auth';
import { startFakeGrpc } from '../test/fake-grpc';
import { collectPublished, waitFor } from '@ragmesh/testing';

/*
 * The gateway in-process against the real PostgreSQL and RabbitMQ; retrieval and generation are
 * tiny grpc-js servers on the real protos, so what crosses the wire is what the real services see.
 */

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh';

type Handlers = grpc.UntypedServiceImplementation;
type TurnCompletedEnvelope = Envelope<MessagePayload<'conversation.turn.completed'>>;


const ANSWER_PARTS = ['Seoul ', 'is the capital ', 'of Korea [1].'];
const HIT: retrieval.ScoredChunk = {
  chunkId: 'doc-seoul#0',
  documentId: 'doc-seoul',
  title: 'Seoul',
  text: '서울은 대한민국의 수도이다.',
  chunkIndex: 0,
  score: 0.87,
  bm25: 3.1,
  dense: 0.66,
  metadata: { lang: 'ko' },
};

const fake = {
  searches: [] as retrieval.SearchRequest[],
  ingests: [] as retrieval.IngestDocumentRequest[],
  generations: [] as generation.GenerateRequest[],
  correlationIds: [] as string[],
  cancelled: 0,
};

function grpcError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

const retrievalHandlers: Handlers = {
  IngestDocument: (call: grpc.ServerUnaryCall<retrieval.IngestDocumentRequest, unknown>, cb: grpc.sendUnaryData<retrieval.IngestDocumentResponse>) => {
    fake.ingests.push(call.request);
    fake.correlationIds.push(String(call.metadata.get('x-correlation-id')[0] ?? ''));
    if (call.request.content.includes('REJECT')) return cb(grpcError(grpc.status.INVALID_ARGUMENT, 'content: rejected by retrieval'));
    cb(null, { documentId: call.request.id || 'generated-id', chunkCount: 2, replaced: call.request.id === 'doc-existing' });
  },
  DeleteDocument: (call: grpc.ServerUnaryCall<retrieval.DeleteDocumentRequest, unknown>, cb: grpc.sendUnaryData<retrieval.DeleteDocumentResponse>) => {
    if (call.request.id === 'doc-missing') return cb(grpcError(grpc.status.NOT_FOUND, 'document doc-missing not found'));
    cb(null, { documentId: call.request.id, deleted: true });
  },
  Search: (call: grpc.ServerUnaryCall<retrieval.SearchRequest, unknown>, cb: grpc.sendUnaryData<retrieval.SearchResponse>) => {
    fake.searches.push(call.request);
    if (call.request.query.includes('OVERLOAD')) return cb(grpcError(grpc.status.RESOURCE_EXHAUSTED, 'too many searches'));
    // Asked for a window: report it widened once, the way retrieval does when the first window is too thin.
    const months = call.request.timeRangeMonths;
    if (months) return cb(null, { results: [HIT], tookMs: 1.5, timeRangeMonthsUsed: months * 2, timeRangeWidened: true, timeRangeExhausted: false });
    cb(null, { results: [HIT], tookMs: 1.5 });
  },
  GetChunk: (_call: unknown, cb: grpc.sendUnaryData<retrieval.Chunk>) => cb(grpcError(grpc.status.UNIMPLEMENTED, 'not in the fake')),
};

const lastUser = (req: generation.GenerateRequest) => [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '';

const generationHandlers: Handlers = {
  GenerateStream: (call: grpc.ServerWritableStream<generation.GenerateRequest, generation.GenerateChunk>) => {
    fake.generations.push(call.request);
    const question = lastUser(call.request);
    const chunk = (delta: string): generation.GenerateChunk => ({ delta, finishReason: '', usage: undefined, model: '', upstream: '' });
    if (question.includes('SLOW')) {
      // Tokens until the caller goes away: the test proves the gateway cancels the upstream call.
      const timer = setInterval(() => call.write(chunk('tick ')), 20);
      call.on('cancelled', () => {
        fake.cancelled++;
        clearInterval(timer);
      });
      return;
    }
    if (question.includes('FAIL_BEFORE_TOKEN')) {
      call.emit('error', grpcError(grpc.status.UNAVAILABLE, 'no upstream available'));
      return;
    }
    call.write(chunk(ANSWER_PARTS[0]));
    if (question.includes('FAIL_MID_STREAM')) {
      setTimeout(() => call.emit('error', grpcError(grpc.status.UNAVAILABLE, 'upstream vanished')), 20);
      return;
    }
    for (const part of ANSWER_PARTS.slice(1)) call.write(chunk(part));
    call.write({ delta: '', finishReason: 'stop', usage: { promptTokens: 42, completionTokens: 9, totalTokens: 51 }, model: 'fake-model', upstream: 'fake' });
    call.end();
  },
  Generate: (_call: unknown, cb: grpc.sendUnaryData<generation.GenerateResponse>) => cb(grpcError(grpc.status.UNIMPLEMENTED, 'the gateway streams')),
  Summarize: (_call: unknown, cb: grpc.sendUnaryData<generation.SummarizeResponse>) => cb(grpcError(grpc.status.UNIMPLEMENTED, 'not in the fake')),
  ListModels: (_call: unknown, cb: grpc.sendUnaryData<generation.ListModelsResponse>) =>
    cb(null, { models: [{ id: 'local-extractive', ownedBy: 'local', upstream: 'local', kind: 'chat' }] }),
};

// Response bodies are asserted field by field; a loose type keeps the assertions readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const json = (res: Response): Promise<Json> => res.json() as Promise<Json>;

type WithExtras<T> = T & { references?: { chunk_id: string; document_id: string; title: string; score: number; text: string }[]; session_id?: string };

// The jest project config's testTimeout is not applied per project; booting the app needs more than 5 s.
jest.setTimeout(30_000);

describe('gateway (integration)', () => {
  let grpcServer: grpc.Server;
  let app: NestExpressApplication;
  let base: string;
  let openai: OpenAI;
  let ds: DataSource;
  let amqp: amqplib.ChannelModel;
  const turnEvents: TurnCompletedEnvelope[] = [];

  beforeAll(async () => {
    const fakeGrpc = await startFakeGrpc(retrievalHandlers, generationHandlers);
    grpcServer = fakeGrpc.server;
    const config = loadAppConfig({
      ...process.env,
      RAGMESH_BOOTSTRAP_API_KEY: TEST_API_KEY,
      DATABASE_URL,
      AMQP_URL,
      LOG_LEVEL: 'warn',
      RETRIEVAL_GRPC_URL: `127.0.0.1:${fakeGrpc.port}`,
      GENERATION_GRPC_URL: `127.0.0.1:${fakeGrpc.port}`,
      BODY_LIMIT: '64kb',
      DOCUMENTS_BODY_LIMIT: '64kb',
    });
    app = await createGatewayApp(config);
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
    openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: TEST_API_KEY, maxRetries: 0 });
    ds = app.get<DataSource>(DATA_SOURCE);

    // A temporary queue on the events exchange shows what the gateway published.
    amqp = await amqplib.connect(AMQP_URL);
    await collectPublished<TurnCompletedEnvelope>(await amqp.createChannel(), EVENTS_EXCHANGE, 'conversation.turn.completed', (m) => turnEvents.push(m));
  });

  afterAll(async () => {
    await amqp?.close();
    await app?.close();
    grpcServer?.forceShutdown();
  });

  describe('documents and search', () => {
    it('ingests through retrieval.IngestDocument and answers 201 in the envelope, with the correlation id passed on', async () => {
      const res = await authFetch(`${base}/v1/documents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-correlation-id': 'corr-ingest-1' },
        body: JSON.stringify({ id: 'doc-existing', title: 'Seoul', content: '# 서울\n서울은 수도이다.', metadata: { lang: 'ko' }, published_at: '2024-05-01' }),
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-correlation-id')).toBe('corr-ingest-1');
      expect(await json(res)).toEqual({ status: 'ok', message: 'document replaced', data: { document_id: 'doc-existing', chunk_count: 2, replaced: true } });
      expect(fake.ingests.at(-1)).toEqual({
        id: 'doc-existing',
        title: 'Seoul',
        content: '# 서울\n서울은 수도이다.',
        format: 'markdown',
        metadata: { lang: 'ko', tenant: 'default' },
        publishedAt: '2024-05-01',
        collection: '',
      });
      expect(fake.correlationIds.at(-1)).toBe('corr-ingest-1');
    });

    it('maps retrieval INVALID_ARGUMENT to 400 and NOT_FOUND to 404', async () => {
      const bad = await authFetch(`${base}/v1/documents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 't', content: 'REJECT me' }),
      });
      expect(bad.status).toBe(400);
      expect(await json(bad)).toEqual(expect.objectContaining({ status: 'error', message: 'content: rejected by retrieval' }));

      const missing = await authFetch(`${base}/v1/documents/doc-missing`, { method: 'DELETE' });
      expect(missing.status).toBe(404);
      expect((await json(missing)).status).toBe('error');

      const deleted = await authFetch(`${base}/v1/documents/doc-1`, { method: 'DELETE' });
      expect(deleted.status).toBe(200);
      expect((await json(deleted)).data).toEqual({ document_id: 'doc-1', deleted: true });
    });

    it('passes search through and returns snake_case results in the envelope; RESOURCE_EXHAUSTED is 429', async () => {
      const res = await authFetch(`${base}/v1/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '한국의 수도', top_k: 3, filters: { lang: 'ko' }, collection: 'wiki' }),
      });
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body.status).toBe('ok');
      expect(body.data.results).toEqual([
        { chunk_id: 'doc-seoul#0', document_id: 'doc-seoul', title: 'Seoul', text: HIT.text, chunk_index: 0, score: 0.87, bm25: 3.1, dense: 0.66, metadata: { lang: 'ko' } },
      ]);
      expect(fake.searches.at(-1)).toEqual({ query: '한국의 수도', topK: 3, filters: { lang: 'ko', tenant: 'default' }, collection: 'wiki' });

      expect(body.data.time_range).toBeUndefined();

      const windowed = await authFetch(`${base}/v1/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '올해 뉴스', time_anchor: '2024-05-01', time_range_months: 3, min_candidates: 5, fusion: 'rrf', bm25_weight: 0 }),
      });
      expect(windowed.status).toBe(200);
      expect((await json(windowed)).data.time_range).toEqual({ months_used: 6, widened: true, exhausted: false });
      expect(fake.searches.at(-1)).toEqual(
        expect.objectContaining({ timeAnchor: '2024-05-01T00:00:00.000Z', timeRangeMonths: 3, minCandidates: 5, fusion: 'rrf', bm25Weight: 0 }),
      );

      const badWindow = await authFetch(`${base}/v1/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'q', time_range_months: 61 }),
      });
      expect(badWindow.status).toBe(400);
      expect((await json(badWindow)).data.errors).toEqual([{ field: 'time_range_months', reason: 'must be between 1 and 60' }]);

      const busy = await authFetch(`${base}/v1/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'OVERLOAD' }) });
      expect(busy.status).toBe(429);
    });
  });

  describe('chat completions through the official openai client', () => {
    let sessionId: string;
    const PREVIOUS_ANSWER = 'Seoul.';

    it('answers non-streaming with references and a new session, stores the turn and publishes the event', async () => {
      const params = {
        model: 'fake-model',
        messages: [{ role: 'user' as const, content: '한국의 수도는?' }],
        persona: 'a concise guide',
      };
      const completion = (await openai.chat.completions.create(params)) as WithExtras<OpenAI.Chat.Completions.ChatCompletion>;

      expect(completion.id).toMatch(/^chatcmpl-/);
      expect(completion.object).toBe('chat.completion');
      expect(completion.choices[0].message).toEqual(expect.objectContaining({ role: 'assistant', content: ANSWER_PARTS.join('') }));
      expect(completion.choices[0].finish_reason).toBe('stop');
      expect(completion.usage).toEqual({ prompt_tokens: 42, completion_tokens: 9, total_tokens: 51 });
      expect(completion.references).toEqual([{ chunk_id: 'doc-seoul#0', document_id: 'doc-seoul', title: 'Seoul', score: 0.87, text: HIT.text }]);
      expect(completion.session_id).toMatch(/^[0-9a-f-]{36}$/);
      const sessionId = completion.session_id!;

      const sent = fake.generations.at(-1)!;
      expect(sent.sessionId).toBe(sessionId);
      expect(sent.persona).toBe('a concise guide');
      expect(sent.context).toEqual([{ chunkId: 'doc-seoul#0', title: 'Seoul', text: HIT.text, score: 0.87 }]);
      expect(fake.searches.at(-1)?.query).toBe('한국의 수도는?');

      const rows = await ds.query<{ turn_index: number; role: string; content: string; model: string | null; references: unknown[]; usage: unknown }[]>(
        `SELECT turn_index, role, content, model, "references", usage FROM gateway.messages WHERE conversation_id = $1 ORDER BY role DESC`,
        [sessionId],
      );
      expect(rows).toEqual([
        { turn_index: 0, role: 'user', content: '한국의 수도는?', model: null, references: [], usage: null },
        {
          turn_index: 0,
          role: 'assistant',
          content: ANSWER_PARTS.join(''),
          model: 'fake-model',
          references: completion.references,
          usage: { prompt_tokens: 42, completion_tokens: 9, total_tokens: 51 },
        },
      ]);

      const event = await waitFor('conversation.turn.completed', () => turnEvents.find((e) => e.payload.conversationId === sessionId));
      expect(event.type).toBe('conversation.turn.completed');
      expect(event.payload).toEqual(
        expect.objectContaining({ turnIndex: 0, question: '한국의 수도는?', answer: ANSWER_PARTS.join(''), model: 'fake-model', referenceChunkIds: ['doc-seoul#0'] }),
      );
    });

    it('streams SSE chunks: role + references first, content deltas, finish, usage, [DONE]; memory carries the previous turn', async () => {
      // Turn 0 is written directly (no event), so no summarizer running on this broker can replace it with a summary.
      const repo = app.get(ConversationsRepository);
      sessionId = (await repo.findOrCreate(randomUUID(), 'default')).id;
      await repo.recordTurn({
        conversationId: sessionId,
        question: '한국의 수도는?',
        answer: PREVIOUS_ANSWER,
        model: 'fake-model',
        references: [{ chunk_id: 'doc-seoul#0', document_id: 'doc-seoul', title: 'Seoul', score: 0.87, text: HIT.text }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      });
      const params = {
        model: 'fake-model',
        messages: [{ role: 'user' as const, content: 'And its population?' }],
        stream: true as const,
        stream_options: { include_usage: true },
        session_id: sessionId,
        rag: false,
      };
      const stream = await openai.chat.completions.create(params);
      const chunks: WithExtras<OpenAI.Chat.Completions.ChatCompletionChunk>[] = [];
      for await (const c of stream) chunks.push(c);

      expect(chunks[0].choices[0].delta.role).toBe('assistant');
      expect(chunks[0].references).toEqual([]);
      expect(chunks[0].session_id).toBe(sessionId);
      const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
      expect(text).toBe(ANSWER_PARTS.join(''));
      const finish = chunks.find((c) => c.choices[0]?.finish_reason);
      expect(finish?.choices[0].finish_reason).toBe('stop');
      expect(chunks.at(-1)).toEqual(expect.objectContaining({ choices: [], usage: { prompt_tokens: 42, completion_tokens: 9, total_tokens: 51 } }));
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);

      // rag:false → no search for this question; memory = turn 0 before the new question.
      expect(fake.searches.some((s) => s.query === 'And its population?')).toBe(false);
      expect(fake.generations.at(-1)!.messages).toEqual([
        { role: 'user', content: '한국의 수도는?' },
        { role: 'assistant', content: PREVIOUS_ANSWER },
        { role: 'user', content: 'And its population?' },
      ]);

      await waitFor('turn 1 event', () => turnEvents.find((e) => e.payload.conversationId === sessionId && e.payload.turnIndex === 1));
    });

    it('pages history and returns the references of an earlier answer', async () => {
      const conversation = await json(await authFetch(`${base}/v1/conversations/${sessionId}`));
      expect(conversation).toEqual({
        status: 'ok',
        message: 'conversation',
        data: expect.objectContaining({ id: sessionId, turns: 2 }),
      });

      const page = await json(await authFetch(`${base}/v1/conversations/${sessionId}/messages?limit=1`));
      expect(page.data.messages.map((m: { turn_index: number; role: string }) => `${m.turn_index}:${m.role}`)).toEqual(['1:user', '1:assistant']);
      expect(page.data.next_last_index).toBe(1);
      const older = await json(await authFetch(`${base}/v1/conversations/${sessionId}/messages?limit=1&last_index=1`));
      expect(older.data.messages.map((m: { content: string }) => m.content)).toEqual(['한국의 수도는?', PREVIOUS_ANSWER]);
      expect(older.data.next_last_index).toBeNull();

      const refs = await json(await authFetch(`${base}/v1/conversations/${sessionId}/messages/0/references`));
      expect(refs.data).toEqual({ turn_index: 0, references: [expect.objectContaining({ chunk_id: 'doc-seoul#0' })] });
      expect((await authFetch(`${base}/v1/conversations/${sessionId}/messages/9/references`)).status).toBe(404);
      expect((await authFetch(`${base}/v1/conversations/${randomUUID()}`)).status).toBe(404);
      expect((await authFetch(`${base}/v1/conversations/not-a-uuid`)).status).toBe(400);
    });

    it('reports an upstream failure mid-stream as an error event, not a silent cut, and stores nothing', async () => {
      const stream = await openai.chat.completions.create({
        model: 'fake-model',
        messages: [{ role: 'user', content: 'FAIL_MID_STREAM please' }],
        stream: true,
      });
      const seen: string[] = [];
      await expect(
        (async () => {
          for await (const c of stream) seen.push(c.choices[0]?.delta.content ?? '');
        })(),
      ).rejects.toThrow(/upstream vanished/);
      expect(seen.join('')).toBe(ANSWER_PARTS[0]);
      const stored = await ds.query<{ n: string }[]>(`SELECT count(*) AS n FROM gateway.messages WHERE content = 'FAIL_MID_STREAM please'`);
      expect(Number(stored[0].n)).toBe(0);
    });

    it('answers a failure before the first token with an HTTP status the client can act on (503)', async () => {
      const failing = openai.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'FAIL_BEFORE_TOKEN' }], stream: true });
      await expect(failing).rejects.toMatchObject({ status: 503, message: expect.stringContaining('no upstream available') });
    });

    it('cancels the upstream generation when the client disconnects', async () => {
      const before = fake.cancelled;
      const params = { model: 'fake-model', messages: [{ role: 'user' as const, content: 'SLOW answer' }], stream: true as const, rag: false };
      const stream = await openai.chat.completions.create(params);
      let received = 0;
      for await (const _c of stream) {
        if (++received >= 3) break; // leaving the loop aborts the HTTP request
      }
      await waitFor('upstream cancellation', () => (fake.cancelled > before ? true : undefined));
    });

    it('passes time_range, fusion and bm25_weight to the retrieval search', async () => {
      const res = await authFetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          messages: [{ role: 'user', content: '최근 제주 소식은?' }],
          time_range: { months: 6, anchor: '2024-05-01T09:00:00+09:00', min_candidates: 2 },
          fusion: 'minmax',
          bm25_weight: 0.3,
        }),
      });
      expect(res.status).toBe(200);
      expect(fake.searches.at(-1)).toEqual(
        expect.objectContaining({
          query: '최근 제주 소식은?',
          timeAnchor: '2024-05-01T00:00:00.000Z',
          timeRangeMonths: 6,
          minCandidates: 2,
          fusion: 'minmax',
          bm25Weight: 0.3,
        }),
      );

      const bad = await authFetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], time_range: { months: 0 } }),
      });
      expect(bad.status).toBe(400);
      expect((await json(bad)).data.errors).toEqual([{ field: 'time_range.months', reason: 'must be between 1 and 60' }]);
    });

    it('lists models in OpenAI format', async () => {
      const models = await openai.models.list();
      expect(models.data.map((m) => m.id)).toEqual(['local-extractive']);
      expect(models.data[0].object).toBe('model');
    });
  });

  describe('summaries', () => {
    it('stores a conversation.summarized event on the conversation, idempotently', async () => {
      // Created without a chat turn: no turn event, so no summarizer on this broker races the test's own summary.
      const repo = app.get(ConversationsRepository);
      const conversationId = (await repo.findOrCreate(randomUUID(), 'default')).id;

      const publisher = new Messaging({ url: AMQP_URL, service: 'gateway-test' });
      await publisher.connect();
      try {
        const envelope = await publisher.publish('conversation.summarized', {
          conversationId,
          upToTurnIndex: 0,
          summary: 'The user asked about Busan.',
          model: 'local-extractive-summarizer',
        });
        const stored = await waitFor('summary stored', async () => {
          const res = await json(await authFetch(`${base}/v1/conversations/${conversationId}`));
          return res.data.summary ? res.data : undefined;
        });
        expect(stored).toEqual(expect.objectContaining({ summary: 'The user asked about Busan.', summary_turn_index: 0 }));

        const processed = await ds.query<{ id: string }[]>(`SELECT id FROM gateway.processed_messages WHERE id = $1`, [envelope.id]);
        expect(processed).toHaveLength(1);

        // The same envelope again (a redelivery) changes nothing.
        await expect(repo.applySummary({ messageId: envelope.id, conversationId, upToTurnIndex: 0, summary: 'different' })).resolves.toBe('duplicate');
        // An older summary arriving late does not overwrite a newer one.
        await repo.applySummary({ messageId: randomUUID(), conversationId, upToTurnIndex: 5, summary: 'newer' });
        await expect(repo.applySummary({ messageId: randomUUID(), conversationId, upToTurnIndex: 1, summary: 'older' })).resolves.toBe('stale');
        const row = await ds.query<{ summary: string }[]>(`SELECT summary FROM gateway.conversations WHERE id = $1`, [conversationId]);
        expect(row[0].summary).toBe('newer');
      } finally {
        await publisher.close();
      }
    });
  });

  describe('bad input', () => {
    const post = (path: string, body: string) => authFetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

    it('400 naming the field when messages is missing', async () => {
      const res = await post('/v1/chat/completions', JSON.stringify({ model: 'x' }));
      expect(res.status).toBe(400);
      const body = await json(res);
      expect(body).toEqual(expect.objectContaining({ status: 'error', message: 'validation failed', data: { errors: [{ field: 'messages', reason: 'is required' }] } }));
    });

    it('400 naming messages[0].role for a bad role', async () => {
      const res = await post('/v1/chat/completions', JSON.stringify({ messages: [{ role: 'wizard', content: 'hi' }] }));
      expect(res.status).toBe(400);
      const body = await json(res);
      expect(body.data.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'messages[0].role' })]));
    });

    it('the openai client sees a 400 as BadRequestError', async () => {
      await expect(openai.chat.completions.create({ model: 'fake-model', messages: [] })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    });

    it('400 for malformed JSON, 413 past the body limit', async () => {
      const res = await post('/v1/search', '{"query": "unterminated');
      expect(res.status).toBe(400);
      expect(await json(res)).toEqual({ status: 'error', message: 'validation failed', data: { errors: [{ field: 'body', reason: expect.stringContaining('malformed JSON') }] }, request_id: expect.any(String) });

      const big = await post('/v1/documents', JSON.stringify({ title: 't', content: 'x'.repeat(100_000) }));
      expect(big.status).toBe(413);
      expect((await json(big)).status).toBe('error');
    });

    it('404 in the envelope for an unknown route', async () => {
      const res = await authFetch(`${base}/v1/nope`);
      expect(res.status).toBe(404);
      expect(await json(res)).toEqual({ status: 'error', message: 'no route for GET /v1/nope', data: null, request_id: expect.any(String) });
    });
  });

  describe('operations', () => {
    it('serves health, metrics and the OpenAPI document on the same port', async () => {
      expect((await authFetch(`${base}/health/live`)).status).toBe(200);
      const ready = await authFetch(`${base}/health/ready`);
      expect(ready.status).toBe(200);
      const metrics = await (await authFetch(`${base}/metrics`)).text();
      expect(metrics).toContain('ragmesh_gateway_chat_requests_total');
      expect(metrics).toContain('ragmesh_gateway_chat_ttft_seconds');
      expect(metrics).toMatch(/gateway_http_request_duration_seconds_count\{[^}]*route="\/v1\/search"/);
      const doc = await json(await authFetch(`${base}/openapi.json`));
      expect(doc.openapi).toBe('3.1.0');
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/chat/completions', '/v1/documents', '/v1/search', '/v1/models']));
    });
  });
});
