import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, protoPath, retrieval, serviceTokenInterceptor } from '@ragmesh/contracts';
import { connect } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Client } from 'pg';
import { type RunningRetrieval, startRetrieval } from './app';
import { loadAppConfig } from './config';
import { indexSyncQueue } from './search/index-sync.consumer';

const DEADLINE_MS = 10_000;
/** How long replica B may take to apply an event published by A (normally tens of ms). */
const CONVERGE_WITHIN_MS = 10_000;
const POLL_MS = 50;

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void;

function call<Req, Res>(client: grpc.Client, method: string, request: Req): Promise<Res> {
  const fn = (client as unknown as Record<string, Unary<Req, Res>>)[method].bind(client);
  return new Promise((resolve, reject) => {
    fn(request, new grpc.Metadata(), { deadline: new Date(Date.now() + DEADLINE_MS) }, (err, res) =>
      err ? reject(err) : resolve(res as Res),
    );
  });
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

/** What "answers the same way" means: the same chunks, in the same order, with the same scores. */
const ranking = (res: retrieval.SearchResponse) => res.results.map((r) => ({ chunkId: r.chunkId, score: r.score, bm25: r.bm25, dense: r.dense }));

describe('two retrieval replicas (PostgreSQL + RabbitMQ)', () => {
  const run = `rep-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const instanceIds = [`${run}-a`, `${run}-b`];
  const replicas: RunningRetrieval[] = [];
  const clients: grpc.Client[] = [];
  let db: Client;

  const search = (client: grpc.Client, query: string) =>
    call<Partial<retrieval.SearchRequest>, retrieval.SearchResponse>(client, 'search', { query, collection: run, topK: 10 });

  /** Polls replica B until it ranks the query exactly as replica A does (and `accept` holds). */
  async function convergedRanking(query: string, accept: (res: retrieval.SearchResponse) => boolean) {
    const [a, b] = clients;
    const expected = await search(a, query);
    expect(accept(expected)).toBe(true);
    const until = Date.now() + CONVERGE_WITHIN_MS;
    let last: retrieval.SearchResponse | undefined;
    while (Date.now() < until) {
      last = await search(b, query);
      if (JSON.stringify(ranking(last)) === JSON.stringify(ranking(expected))) return { a: expected, b: last };
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new Error(`replica B did not converge: A ${JSON.stringify(ranking(expected))}, B ${JSON.stringify(last && ranking(last))}`);
  }

  beforeAll(async () => {
    const base = loadAppConfig({ ...process.env, OPS_PORT: '0', LOG_LEVEL: 'warn' });
    db = new Client({ connectionString: base.DATABASE_URL });
    await db.connect();
    const definition = loadSync(protoPath('retrieval'), PROTO_LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      ragmesh: { v1: { RetrievalService: grpc.ServiceClientConstructor } };
    };
    for (const instanceId of instanceIds) {
      const port = await freePort();
      replicas.push(
        await startRetrieval(
          loadAppConfig({ ...process.env, RETRIEVAL_GRPC_PORT: String(port), OPS_PORT: '0', LOG_LEVEL: 'warn', RETRIEVAL_INSTANCE_ID: instanceId }),
        ),
      );
      clients.push(new pkg.ragmesh.v1.RetrievalService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { interceptors: [serviceTokenInterceptor()] }));
    }
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    for (const replica of replicas) await replica.close();
    if (db) {
      await db.query(`DELETE FROM retrieval.documents WHERE id LIKE $1`, [`${run}-%`]);
      await db.end();
    }
    // Per-instance queues are durable (a real replica keeps its name across restarts); these were for this run only.
    const amqp = await connect(loadAppConfig({ ...process.env }).AMQP_URL);
    const channel = await amqp.createChannel();
    for (const id of instanceIds) await channel.deleteQueue(indexSyncQueue(id));
    await amqp.close();
  });

  it('B answers like A after ingest, re-ingest and delete made through A', async () => {
    const [a, b] = clients;
    const ingest = (req: Partial<retrieval.IngestDocumentRequest>) =>
      call<Partial<retrieval.IngestDocumentRequest>, retrieval.IngestDocumentResponse>(a, 'ingestDocument', {
        format: 'text',
        collection: run,
        ...req,
      });
    const docs = [
      ['cafe', '카페 이용 안내', '카페는 평일 오전 8시부터 오후 6시까지 운영합니다. 텀블러를 가져오면 할인됩니다.'],
      ['gym', '체력단련실 안내', '체력단련실은 24시간 이용할 수 있으며 샤워실이 함께 있습니다.'],
      ['park', '주차 안내', '주차장은 지하 2층이며 방문객은 2시간 무료 주차가 가능합니다.'],
    ];
    for (const [id, title, content] of docs) await ingest({ id: `${run}-${id}`, title, content });

    const created = await convergedRanking('카페 운영 시간', (res) => res.results[0]?.documentId === `${run}-cafe`);
    expect(created.b.results.map((r) => r.documentId)).toContain(`${run}-gym`);

    // Re-ingest with new content: B must drop the old chunk text and rank the new one the same way.
    await ingest({ id: `${run}-cafe`, title: '카페 이용 안내', content: '카페는 리모델링으로 3월 한 달 동안 문을 닫습니다.' });
    const replaced = await convergedRanking('카페 리모델링 휴업', (res) => res.results[0]?.text.includes('리모델링') === true);
    expect(replaced.b.results.some((r) => r.text.includes('텀블러'))).toBe(false);

    await call<retrieval.DeleteDocumentRequest, retrieval.DeleteDocumentResponse>(a, 'deleteDocument', { id: `${run}-park` });
    const deleted = await convergedRanking('주차장 무료 주차', (res) => res.results.every((r) => r.documentId !== `${run}-park`));
    expect(deleted.b.results.length).toBeGreaterThan(0);
    expect((await search(b, '지하 2층 주차장')).results.every((r) => r.documentId !== `${run}-park`)).toBe(true);
  });
});
