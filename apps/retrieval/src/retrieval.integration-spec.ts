import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { EVENTS_EXCHANGE, PROTO_LOADER_OPTIONS, protoPath, retrieval, serviceTokenInterceptor } from '@ragmesh/contracts';
import { collectPublished } from '@ragmesh/testing';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { service as healthService } from 'grpc-health-check';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Client } from 'pg';
import { RETRIEVAL_SERVICE_FQN, type RunningRetrieval, startRetrieval } from './app';
import { type AppConfig, loadAppConfig } from './config';

const DEADLINE_MS = 10_000;
const EVENT_WAIT_MS = 5_000;

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void;

function call<Req, Res>(client: grpc.Client, method: string, request: Req): Promise<Res> {
  const fn = (client as unknown as Record<string, Unary<Req, Res>>)[method].bind(client);
  return new Promise((resolve, reject) => {
    fn(request, new grpc.Metadata(), { deadline: new Date(Date.now() + DEADLINE_MS) }, (err, res) =>
      err ? reject(err) : resolve(res as Res),
    );
  });
}

async function grpcError(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface EventBody {
  type: string;
  payload: { documentId: string; chunkCount?: number; replaced?: boolean; collection?: string };
}

describe('retrieval service (gRPC, PostgreSQL, RabbitMQ)', () => {
  // The retrieval schema is fixed: unique ids and a unique collection keep runs apart.
  const run = `it-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const koId = `${run}-ko`;
  const enId = `${run}-en`;
  let config: AppConfig;
  let app: RunningRetrieval | undefined;
  let client: grpc.Client;
  let health: grpc.Client;
  let db: Client;
  let amqp: ChannelModel;
  let channel: Channel;
  const events: EventBody[] = [];

  const ingest = (req: Partial<retrieval.IngestDocumentRequest>) =>
    call<Partial<retrieval.IngestDocumentRequest>, retrieval.IngestDocumentResponse>(client, 'ingestDocument', req);
  const search = (query: string, extra: Partial<retrieval.SearchRequest> = {}) =>
    call<Partial<retrieval.SearchRequest>, retrieval.SearchResponse>(client, 'search', { query, collection: run, ...extra });
  const getChunk = (chunkId: string) => call<retrieval.GetChunkRequest, retrieval.Chunk>(client, 'getChunk', { chunkId });
  const deleteDocument = (id: string) =>
    call<retrieval.DeleteDocumentRequest, retrieval.DeleteDocumentResponse>(client, 'deleteDocument', { id });

  async function waitForEvent(match: (e: EventBody) => boolean): Promise<EventBody> {
    const until = Date.now() + EVENT_WAIT_MS;
    for (;;) {
      const found = events.find(match);
      if (found) return found;
      if (Date.now() > until) throw new Error(`event not received; got ${JSON.stringify(events)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    const port = await freePort();
    config = loadAppConfig({
      ...process.env,
      RETRIEVAL_GRPC_PORT: String(port),
      OPS_PORT: '0',
      LOG_LEVEL: 'warn',
      RETRIEVAL_INSTANCE_ID: 'integration-test',
      CHUNK_MAX_TOKENS: '60',
      CHUNK_OVERLAP_TOKENS: '10',
    });

    db = new Client({ connectionString: config.DATABASE_URL });
    await db.connect();

    // Our own exclusive queue on the events exchange sees what the service announces.
    amqp = await connect(config.AMQP_URL);
    channel = await amqp.createChannel();
    await collectPublished<EventBody>(channel, EVENTS_EXCHANGE, 'document.*', (body) => {
      if (body.payload.documentId.startsWith(run)) events.push(body);
    });

    app = await startRetrieval(config);

    const definition = loadSync(protoPath('retrieval'), PROTO_LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      ragmesh: { v1: { RetrievalService: grpc.ServiceClientConstructor } };
    };
    const target = `127.0.0.1:${port}`;
    client = new pkg.ragmesh.v1.RetrievalService(target, grpc.credentials.createInsecure(), { interceptors: [serviceTokenInterceptor()] });
    const Health = grpc.makeGenericClientConstructor(healthService as unknown as grpc.ServiceDefinition, 'Health');
    health = new Health(target, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    health?.close();
    await app?.close();
    if (db) {
      await db.query(`DELETE FROM retrieval.documents WHERE id LIKE $1`, [`${run}-%`]);
      await db.end();
    }
    await channel?.close();
    await amqp?.close();
  });

  it('reports SERVING on the standard health service', async () => {
    for (const service of ['', RETRIEVAL_SERVICE_FQN]) {
      const res = await call<{ service: string }, { status: string | number }>(health, 'check', { service });
      expect([1, 'SERVING']).toContain(res.status);
    }
  });

  it('ingests, searches in Korean, replaces on re-ingest, gets, deletes', async () => {
    const ko = await ingest({
      id: koId,
      title: '연차 휴가 규정',
      format: 'markdown',
      collection: run,
      metadata: { lang: 'ko' },
      publishedAt: '2024-03-01',
      content: '# 연차\n\n직원은 입사 1년 후 15일의 유급 연차 휴가를 받습니다. 연차는 팀장 승인 후 사용합니다.',
    });
    expect(ko).toMatchObject({ documentId: koId, replaced: false });
    expect(ko.chunkCount).toBeGreaterThan(0);
    const en = await ingest({
      id: enId,
      title: 'Expense policy',
      format: 'text',
      collection: run,
      metadata: { lang: 'en' },
      content: 'Employees submit travel expenses within thirty days. Receipts are required for every claim.',
    });
    expect(en.replaced).toBe(false);

    const korean = await search('연차 휴가는 며칠인가요?');
    expect(korean.results[0]).toMatchObject({ documentId: koId, chunkId: `${koId}#0`, title: '연차 휴가 규정' });
    expect(korean.results[0].metadata).toMatchObject({ lang: 'ko', collection: run, published_at: '2024-03-01T00:00:00.000Z' });
    expect(korean.results[0].score).toBeGreaterThan(0);
    expect(korean.tookMs).toBeGreaterThanOrEqual(0);
    expect((await search('travel expenses receipts')).results[0].documentId).toBe(enId);
    expect((await search('연차', { filters: { lang: 'en' } })).results.every((r) => r.documentId === enId)).toBe(true);

    await waitForEvent((e) => e.type === 'document.ingested' && e.payload.documentId === koId);

    // Re-ingest with changed, longer content: the old chunks are gone, the new ones in place.
    const newContent = Array.from(
      { length: 8 },
      (_, i) => `재택 근무 규정 ${i + 1}항: 재택 근무는 주 ${(i % 3) + 1}일까지 신청할 수 있으며 팀장이 승인합니다.`,
    ).join('\n\n');
    const replaced = await ingest({ id: koId, title: '재택 근무 규정', format: 'text', collection: run, content: newContent });
    expect(replaced.replaced).toBe(true);
    expect(replaced.chunkCount).toBeGreaterThan(1);
    const rows = await db.query<{ id: string; text: string }>(
      `SELECT id, text FROM retrieval.chunks WHERE document_id = $1 ORDER BY chunk_index`,
      [koId],
    );
    expect(rows.rows).toHaveLength(replaced.chunkCount);
    expect(rows.rows.map((r) => r.id)).toEqual(Array.from({ length: replaced.chunkCount }, (_, i) => `${koId}#${i}`));
    expect(rows.rows.some((r) => r.text.includes('유급 연차'))).toBe(false);
    expect(rows.rows[0].text).toContain('재택 근무');
    const replacedEvent = await waitForEvent((e) => e.payload.documentId === koId && e.payload.replaced === true);
    expect(replacedEvent.payload).toMatchObject({ chunkCount: replaced.chunkCount, collection: run });

    const afterReplace = await search('연차 휴가는 며칠인가요?');
    expect(afterReplace.results.some((r) => r.text.includes('유급 연차'))).toBe(false);
    expect((await search('재택 근무 신청')).results[0].documentId).toBe(koId);

    const chunk = await getChunk(`${koId}#1`);
    expect(chunk).toMatchObject({ chunkId: `${koId}#1`, documentId: koId, chunkIndex: 1, title: '재택 근무 규정' });
    expect(chunk.text).toContain('재택 근무');

    expect(await deleteDocument(enId)).toEqual({ documentId: enId, deleted: true });
    expect((await grpcError(getChunk(`${enId}#0`))).code).toBe(grpc.status.NOT_FOUND);
    expect((await grpcError(deleteDocument(enId))).code).toBe(grpc.status.NOT_FOUND);
    expect((await search('travel expenses receipts')).results.every((r) => r.documentId !== enId)).toBe(true);
    await waitForEvent((e) => e.type === 'document.deleted' && e.payload.documentId === enId);
  });

  it('rebuilds the index from PostgreSQL when it starts again', async () => {
    await app?.close();
    app = await startRetrieval(config);
    const res = await search('재택 근무 신청');
    expect(res.results[0].documentId).toBe(koId);
  });

  it('filters by published_at, widens the window when too few match, and takes a per-request fusion', async () => {
    const timeCollection = `${run}-time`;
    // Ages in months before the anchor 2024-06-30.
    const ages = [1, 2, 8, 30];
    for (const age of ages) {
      await ingest({
        id: `${run}-age${age}`,
        title: '환불 규정',
        format: 'text',
        collection: timeCollection,
        publishedAt: new Date(Date.UTC(2024, 5 - age, 10)).toISOString(),
        content: `환불 규정 개정 ${age}: 구매 후 7일 이내에 환불을 요청할 수 있습니다.`,
      });
    }
    await ingest({ id: `${run}-undated`, title: '환불 규정', format: 'text', collection: timeCollection, content: '환불 규정: 날짜 없음' });
    const timed = (extra: Partial<retrieval.SearchRequest>) =>
      search('환불 요청 기간', { collection: timeCollection, topK: 10, timeAnchor: '2024-06-30', ...extra });
    const docs = (res: retrieval.SearchResponse) => res.results.map((r) => r.documentId.slice(run.length + 1)).sort();

    const exact = await timed({ timeRangeMonths: 3, minCandidates: 2 });
    expect(docs(exact)).toEqual(['age1', 'age2']);
    expect(exact).toMatchObject({ timeRangeMonthsUsed: 3, timeRangeWidened: false, timeRangeExhausted: false });

    // Three wanted: 3 and 6 months hold two, 12 months holds three.
    const widened = await timed({ timeRangeMonths: 3 });
    expect(docs(widened)).toEqual(['age1', 'age2', 'age8']);
    expect(widened).toMatchObject({ timeRangeMonthsUsed: 12, timeRangeWidened: true, timeRangeExhausted: false });

    const exhausted = await timed({ timeRangeMonths: 3, minCandidates: 10 });
    expect(docs(exhausted)).toEqual(['age1', 'age2', 'age30', 'age8']);
    expect(exhausted).toMatchObject({ timeRangeMonthsUsed: 60, timeRangeWidened: true, timeRangeExhausted: true });

    const unfiltered = await timed({});
    expect(docs(unfiltered)).toHaveLength(5);
    expect(unfiltered.timeRangeMonthsUsed).toBe(0);

    // bm25_weight 0 is sent (proto3 optional) and means dense only: every score is the scaled cosine.
    const denseOnly = await timed({ bm25Weight: 0 });
    for (const r of denseOnly.results) expect(r.score).toBeCloseTo(r.dense, 10);
    const rrf = await timed({ fusion: 'rrf' });
    expect(rrf.results[0].score).toBeLessThan(1 / 60);

    const badAnchor = await grpcError(timed({ timeRangeMonths: 3, timeAnchor: 'yesterday' }));
    expect(badAnchor.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badAnchor.details).toMatch(/^time_anchor: /);
    const badWeight = await grpcError(timed({ bm25Weight: 2 }));
    expect(badWeight.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badWeight.details).toMatch(/^bm25_weight: /);
    const badFusion = await grpcError(timed({ fusion: 'best' }));
    expect(badFusion.details).toMatch(/^fusion: /);
  });

  it('ingests a batch in one transaction, rejects a bad batch whole, and lists documents page by page', async () => {
    const batchCollection = `${run}-batch`;
    const batchDoc = (i: number, extra: Partial<retrieval.IngestDocumentRequest> = {}): Partial<retrieval.IngestDocumentRequest> => ({
      id: `${run}-b${i}`,
      title: `배치 문서 ${i}`,
      format: 'text',
      collection: batchCollection,
      publishedAt: '2024-05-01',
      content: `배치 문서 ${i}의 본문: 회의실 예약은 하루 전까지 해야 합니다.`,
      ...extra,
    });
    const ingestBatch = (documents: Partial<retrieval.IngestDocumentRequest>[]) =>
      call<{ documents: Partial<retrieval.IngestDocumentRequest>[] }, retrieval.IngestDocumentsResponse>(client, 'ingestDocuments', {
        documents,
      });
    const list = (req: Partial<retrieval.ListDocumentsRequest>) =>
      call<Partial<retrieval.ListDocumentsRequest>, retrieval.ListDocumentsResponse>(client, 'listDocuments', req);

    const bad = await grpcError(ingestBatch([batchDoc(0), batchDoc(1), batchDoc(2, { content: ' ' })]));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/^documents\[2\]\.content: /);
    const stored = await db.query(`SELECT count(*)::int AS n FROM retrieval.documents WHERE collection = $1`, [batchCollection]);
    expect(stored.rows[0].n).toBe(0);

    const ok = await ingestBatch(Array.from({ length: 5 }, (_, i) => batchDoc(i)));
    expect(ok.results.map((r) => r.documentId)).toEqual(Array.from({ length: 5 }, (_, i) => `${run}-b${i}`));
    expect(ok.results.every((r) => r.chunkCount === 1 && !r.replaced)).toBe(true);
    const again = await ingestBatch([batchDoc(4, { content: '바뀐 본문: 주차장은 지하 2층입니다.' })]);
    expect(again.results[0]).toMatchObject({ replaced: true });
    expect((await search('주차장 위치', { collection: batchCollection })).results[0].documentId).toBe(`${run}-b4`);

    const seen: retrieval.DocumentSummary[] = [];
    let pageToken = '';
    let pages = 0;
    do {
      const page = await list({ collection: batchCollection, pageSize: 2, pageToken });
      seen.push(...page.documents);
      pageToken = page.nextPageToken;
      pages += 1;
    } while (pageToken !== '');
    expect(pages).toBe(3);
    expect(seen.map((d) => d.id)).toEqual(Array.from({ length: 5 }, (_, i) => `${run}-b${i}`));
    expect(seen[0]).toMatchObject({ title: '배치 문서 0', collection: batchCollection, publishedAt: '2024-05-01T00:00:00.000Z', chunkCount: 1 });
    expect(Date.parse(seen[4].updatedAt)).toBeGreaterThanOrEqual(Date.parse(seen[0].updatedAt));

    const badSize = await grpcError(list({ pageSize: 1000 }));
    expect(badSize.details).toMatch(/^page_size: /);
    const badToken = await grpcError(list({ pageToken: 'garbage' }));
    expect(badToken.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badToken.details).toMatch(/^page_token: /);
  });

  it('answers bad input with INVALID_ARGUMENT naming the field, unknown chunks with NOT_FOUND', async () => {
    const emptyQuery = await grpcError(search(''));
    expect(emptyQuery.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(emptyQuery.details).toMatch(/^query: /);

    const emptyContent = await grpcError(ingest({ id: `${run}-empty`, title: 't', content: '', format: 'text' }));
    expect(emptyContent.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(emptyContent.details).toMatch(/^content: /);

    const badTopK = await grpcError(search('ok', { topK: 500 }));
    expect(badTopK.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badTopK.details).toMatch(/^top_k: /);

    const unknown = await grpcError(getChunk(`${run}-nope#0`));
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
  });
});
