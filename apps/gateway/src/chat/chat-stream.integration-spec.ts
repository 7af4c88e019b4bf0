import * as grpc from '@grpc/grpc-js';
import { type generation, type retrieval } from '@ragmesh/contracts';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { authFetch } from '../../test/auth';
import { type ChatGateway, startChatGateway } from '../../test/chat-gateway';

/*
 * POST /v1/chat/stream against the in-process gateway (real PostgreSQL and RabbitMQ) with tiny
 * grpc-js retrieval/generation fakes on the real protos; the SSE body is read with eventsource-parser.
 */

const HEARTBEAT_MS = 50;
/** Long enough for the stream to open on the heartbeat timer and then ping at least once. */
const FIRST_TOKEN_DELAY_MS = HEARTBEAT_MS * 6;


const HIT: retrieval.ScoredChunk = {
  chunkId: 'doc-seoul#0',
  documentId: 'doc-seoul',
  title: 'Seoul',
  text: '서울은 대한민국의 수도이다.',
  chunkIndex: 0,
  score: 0.87,
  bm25: 3.1,
  dense: 0.66,
  metadata: {},
};
const PARTS = ['Seoul ', 'is the capital.'];
const USAGE = { promptTokens: 42, completionTokens: 9, totalTokens: 51 };

const fake = { cancelled: 0 };

function grpcError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

const delta = (text: string): generation.GenerateChunk => ({ delta: text, finishReason: '', usage: undefined, model: '', upstream: '' });

const generationHandlers: grpc.UntypedServiceImplementation = {
  GenerateStream: (call: grpc.ServerWritableStream<generation.GenerateRequest, generation.GenerateChunk>) => {
    const question = call.request.messages.at(-1)?.content ?? '';
    const answer = () => {
      for (const part of PARTS) call.write(delta(part));
      call.write({ delta: '', finishReason: 'stop', usage: USAGE, model: 'fake-model', upstream: 'fake' });
      call.end();
    };
    if (question.includes('FAIL_BEFORE_TOKEN')) return call.emit('error', grpcError(grpc.status.RESOURCE_EXHAUSTED, 'queue full'));
    if (question.includes('FAIL_MID_STREAM')) {
      call.write(delta(PARTS[0]));
      setTimeout(() => call.emit('error', grpcError(grpc.status.UNAVAILABLE, 'upstream vanished')), 20);
      return;
    }
    if (question.includes('SLOW')) {
      const timer = setInterval(() => call.write(delta('tick ')), 20);
      call.on('cancelled', () => {
        fake.cancelled++;
        clearInterval(timer);
      });
      return;
    }
    if (question.includes('DELAY')) return void setTimeout(answer, FIRST_TOKEN_DELAY_MS);
    answer();
  },
};

const retrievalHandlers: grpc.UntypedServiceImplementation = {
  Search: (_call: unknown, cb: grpc.sendUnaryData<retrieval.SearchResponse>) => cb(null, { results: [HIT], tookMs: 1 }),
};

interface Parsed {
  status: number;
  headers: Headers;
  events: EventSourceMessage[];
  /** Events and heartbeat comments in arrival order. */
  sequence: string[];
  // Event payloads are asserted field by field; a loose type keeps the assertions readable.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: (name: string) => any;
}

jest.setTimeout(30_000);

describe('POST /v1/chat/stream (integration)', () => {
  let gateway: ChatGateway;
  let base: string;

  const post = (body: unknown, signal?: AbortSignal) =>
    authFetch(`${base}/v1/chat/stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });

  async function streamChat(question: string): Promise<Parsed> {
    const res = await post({ messages: [{ role: 'user', content: question }] });
    const events: EventSourceMessage[] = [];
    const sequence: string[] = [];
    const parser = createParser({
      onEvent: (e) => {
        events.push(e);
        sequence.push(e.event ?? 'message');
      },
      onComment: (c) => sequence.push(`:${c.trim()}`),
    });
    parser.feed(await res.text());
    return {
      status: res.status,
      headers: res.headers,
      events,
      sequence,
      data: (name) => JSON.parse(events.find((e) => e.event === name)?.data ?? 'null'),
    };
  }

  beforeAll(async () => {
    gateway = await startChatGateway(retrievalHandlers, generationHandlers, {
      LOG_LEVEL: 'warn',
      CHAT_HEARTBEAT_MS: String(HEARTBEAT_MS),
      // No resume grace: a client that leaves cancels generation at once.
      CHAT_RESUME_GRACE_MS: '0',
      CHAT_QUERY_REWRITE: 'rules',
    });
    base = gateway.base;
  });

  afterAll(() => gateway?.close());

  it('streams reference → token… → done with numbered ids, usage and honest timings', async () => {
    const s = await streamChat('What is the capital of Korea?');
    expect(s.status).toBe(200);
    expect(s.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(s.headers.get('cache-control')).toMatch(/no-cache/);
    expect(s.headers.get('x-accel-buffering')).toBe('no');
    expect(s.sequence.filter((e) => !e.startsWith(':'))).toEqual(['reference', 'token', 'token', 'done']);
    expect(s.events.map((e) => e.id)).toEqual(['1', '2', '3', '4']);
    const reference = s.data('reference');
    expect(reference).toEqual({
      session_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      stream_id: s.headers.get('x-stream-id'),
      references: [{ chunk_id: 'doc-seoul#0', document_id: 'doc-seoul', title: 'Seoul', score: expect.closeTo(0.87, 5) }],
      query: { text: 'What is the capital of Korea?', keywords: ['capital', 'korea'], table_intent: false, time_range: null, source: 'rules' },
    });
    expect(s.headers.get('x-session-id')).toBe(reference.session_id);
    expect(s.events.filter((e) => e.event === 'token').map((e) => JSON.parse(e.data).text)).toEqual(PARTS);
    const done = s.data('done');
    expect(done).toEqual(
      expect.objectContaining({ finish_reason: 'stop', usage: { prompt_tokens: 42, completion_tokens: 9, total_tokens: 51 }, turn_index: 0 }),
    );
    const { retrieval_ms, ttft_ms, total_ms } = done.timings;
    expect(retrieval_ms).toBeGreaterThan(0);
    expect(ttft_ms).toBeGreaterThanOrEqual(retrieval_ms);
    expect(total_ms).toBeGreaterThanOrEqual(ttft_ms);
  });

  it('continues the conversation given by session_id', async () => {
    const first = await streamChat('first question');
    const session = first.data('reference').session_id as string;
    const res = await post({ session_id: session, rag: false, messages: [{ role: 'user', content: 'second question' }] });
    const text = await res.text();
    expect(text).toContain(`"session_id":"${session}"`);
    expect(text).toContain('"turn_index":1');
  });

  it('ends with an error event when the generation fails mid-stream, after the text already sent', async () => {
    const s = await streamChat('FAIL_MID_STREAM please');
    expect(s.status).toBe(200);
    expect(s.sequence.filter((e) => !e.startsWith(':'))).toEqual(['reference', 'token', 'error']);
    expect(s.events.map((e) => e.id)).toEqual(['1', '2', '3']);
    expect(s.data('error')).toEqual({ code: 'upstream_unavailable', message: 'upstream vanished', status: 503 });
  });

  it('keeps the mapped HTTP status when the generation refuses before anything was sent', async () => {
    const res = await post({ messages: [{ role: 'user', content: 'FAIL_BEFORE_TOKEN' }] });
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual(expect.objectContaining({ status: 'error', message: 'queue full' }));
  });

  it('sends heartbeat comments while the first token is late, then the answer', async () => {
    const s = await streamChat('DELAY the answer');
    expect(s.sequence[0]).toBe('reference');
    const firstToken = s.sequence.indexOf('token');
    expect(s.sequence.slice(1, firstToken)).toContain(':ping');
    expect(s.sequence.filter((e) => !e.startsWith(':'))).toEqual(['reference', 'token', 'token', 'done']);
    expect(s.data('done').timings.ttft_ms).toBeGreaterThanOrEqual(FIRST_TOKEN_DELAY_MS);
  });

  it('answers 400 in the envelope for an invalid body, before any stream starts', async () => {
    const res = await post({ messages: [{ role: 'user', content: 'q' }], top_k: 0 });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await res.json()) as { status: string; data: { errors: { field: string }[] } };
    expect(body.status).toBe('error');
    expect(body.data.errors.map((e) => e.field)).toContain('top_k');
  });

  it('cancels the gRPC generation when the client disconnects', async () => {
    const before = fake.cancelled;
    const controller = new AbortController();
    const res = await post({ messages: [{ role: 'user', content: 'SLOW stream' }] }, controller.signal);
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    const deadline = Date.now() + 5000;
    while (fake.cancelled === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(fake.cancelled).toBe(before + 1);
  });
});
