import * as grpc from '@grpc/grpc-js';
import { type generation, type retrieval } from '@ragmesh/contracts';
import { authFetch } from '../../test/auth';
import { type ChatGateway, startChatGateway } from '../../test/chat-gateway';

/*
 * The query rewrite over real gRPC: the in-process gateway (real PostgreSQL and RabbitMQ) against
 * a grpc-js fake proxy whose model list names an LLM upstream and whose unary Generate answers
 * the rewrite prompt; the fake retrieval records the Search requests the rewrite produced.
 */

const USAGE = { promptTokens: 3, completionTokens: 1, totalTokens: 4 };

const HIT: retrieval.ScoredChunk = {
  chunkId: 'doc-1#0',
  documentId: 'doc-1',
  title: 'Revenue 2023',
  text: 'H1 2023 revenue by region.',
  chunkIndex: 0,
  score: 0.8,
  bm25: 1,
  dense: 0.5,
  metadata: {},
};

const seen = { searches: [] as retrieval.SearchRequest[], rewrites: [] as generation.GenerateRequest[] };
/** What the fake LLM answers to successive rewrite calls. */
let rewriteAnswers: string[] = [];

const generationHandlers: grpc.UntypedServiceImplementation = {
  ListModels: (_call: unknown, cb: grpc.sendUnaryData<generation.ListModelsResponse>) =>
    cb(null, {
      models: [
        { id: 'qwen', ownedBy: 'gpu-1', upstream: 'gpu-1', kind: 'openai-compatible' },
        { id: 'local-extractive', ownedBy: 'local', upstream: 'local', kind: 'local' },
      ],
    }),
  Generate: (call: grpc.ServerUnaryCall<generation.GenerateRequest, generation.GenerateResponse>, cb: grpc.sendUnaryData<generation.GenerateResponse>) => {
    seen.rewrites.push(call.request);
    cb(null, { model: 'qwen', text: rewriteAnswers.shift() ?? '', finishReason: 'stop', usage: USAGE, upstream: 'gpu-1' });
  },
  GenerateStream: (call: grpc.ServerWritableStream<generation.GenerateRequest, generation.GenerateChunk>) => {
    call.write({ delta: 'answer', finishReason: '', usage: undefined, model: '', upstream: 'gpu-1' });
    call.write({ delta: '', finishReason: 'stop', usage: USAGE, model: 'qwen', upstream: 'gpu-1' });
    call.end();
  },
};

const retrievalHandlers: grpc.UntypedServiceImplementation = {
  Search: (call: grpc.ServerUnaryCall<retrieval.SearchRequest, retrieval.SearchResponse>, cb: grpc.sendUnaryData<retrieval.SearchResponse>) => {
    seen.searches.push(call.request);
    cb(null, { results: [HIT], tookMs: 1 });
  },
};

jest.setTimeout(30_000);

describe('query rewrite before retrieval (integration, gRPC)', () => {
  let gateway: ChatGateway;
  let base: string;

  const complete = (body: unknown) =>
    authFetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    gateway = await startChatGateway(retrievalHandlers, generationHandlers, { LOG_LEVEL: 'error' });
    base = gateway.base;
  });

  afterAll(() => gateway?.close());

  beforeEach(() => {
    seen.searches = [];
    seen.rewrites = [];
  });

  it('asks the LLM upstream for a JSON rewrite, retries a bad answer, and searches with the result', async () => {
    rewriteAnswers = [
      'The user wants revenue figures.',
      '{"query": "2023 revenue by region", "keywords": ["revenue", "region"], "table_intent": true, "time_range": {"start": "2023-01-01", "end": "2023-07-01"}}',
    ];
    const res = await complete({ model: 'qwen', messages: [{ role: 'user', content: 'How much did each region earn in the first half of 2023?' }] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { query: unknown };
    expect(seen.rewrites).toHaveLength(2);
    expect(seen.rewrites[0]).toMatchObject({ model: 'qwen', persona: expect.stringContaining('"table_intent"') });
    expect(seen.rewrites[1].messages.at(-1)?.content).toContain('not usable');
    expect(seen.searches).toHaveLength(1);
    expect(seen.searches[0]).toMatchObject({ query: '2023 revenue by region', timeRangeMonths: 6, timeAnchor: '2023-07-01T00:00:00.000Z' });
    expect(body.query).toEqual({
      text: '2023 revenue by region',
      keywords: ['revenue', 'region'],
      table_intent: true,
      time_range: { start: '2023-01-01T00:00:00.000Z', end: '2023-07-01T00:00:00.000Z', months: 6 },
      source: 'llm',
    });
  });

  it('uses the rules for a local model: no LLM call, the Korean time expression becomes the window', async () => {
    const res = await complete({ model: 'local-extractive', messages: [{ role: 'user', content: '작년 하반기 공지사항 알려줘' }] });
    expect(res.status).toBe(200);
    expect(seen.rewrites).toHaveLength(0);
    expect(seen.searches[0]).toMatchObject({ query: '공지사항 알려줘', timeRangeMonths: 6 });
    const anchor = new Date(seen.searches[0].timeAnchor!);
    expect(anchor.toISOString()).toBe(`${new Date().getUTCFullYear()}-01-01T00:00:00.000Z`);
  });

  it('falls back to the rules when every LLM answer is unusable', async () => {
    rewriteAnswers = ['nope', 'still nope', '{"query": ""}', '[]'];
    const res = await complete({ model: 'qwen', messages: [{ role: 'user', content: 'refund policy changes last quarter' }] });
    expect(res.status).toBe(200);
    expect(seen.rewrites).toHaveLength(4);
    expect(seen.searches[0]).toMatchObject({ query: 'refund policy changes', timeRangeMonths: 3 });
  });
});
