import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, protoPath, type retrieval, serviceTokenInterceptor } from '@ragmesh/contracts';
import { freePort, waitFor } from '@ragmesh/testing';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
// The fake upstream is a test tool, not a library: imported by path in tests only, as elsewhere.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { startFakeOpenAi, type FakeOpenAi } from '../../../../tools/fake-openai/src/server';
import { type RunningRetrieval, startRetrieval } from '../app';
import { loadAppConfig } from '../config';

const DEADLINE_MS = 10_000;
const SWITCH_TIMEOUT_MS = 30_000;
const LOCAL_MODEL = 'local-hashing-embedder';
const UPSTREAM_MODEL = 'fake-ko-embedding';
const FAKE_DIMENSIONS = 384;
const TOPICS = ['서울 봄 날씨', '부산 바다 여름', '제주 감귤 농장', '강릉 커피 거리', '전주 비빔밥 식당', '경주 역사 유적', '여수 밤바다 야경', '춘천 닭갈비 골목'];

type Unary<Req, Res> = (req: Req, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void;

function call<Req, Res>(client: grpc.Client, method: string, request: Req): Promise<Res> {
  const fn = (client as unknown as Record<string, Unary<Req, Res>>)[method].bind(client);
  return new Promise((resolve, reject) => {
    fn(request, { deadline: new Date(Date.now() + DEADLINE_MS) }, (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

async function fakeEmbeddings(fake: FakeOpenAi, body: { paused?: boolean } = {}): Promise<{ requests: number; inputs: number; waiting: number }> {
  const res = await fetch(`${fake.url}/fake/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await res.json()) as { requests: number; inputs: number; waiting: number };
}


describe('changing the embedding model re-embeds in the background (PostgreSQL, fake /v1/embeddings)', () => {
  const run = `reembed-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  let fake: FakeOpenAi;
  let db: Client;
  let service: RunningRetrieval | undefined;
  let client: grpc.Client | undefined;
  const definition = loadSync(protoPath('retrieval'), PROTO_LOADER_OPTIONS);
  const { RetrievalService } = (grpc.loadPackageDefinition(definition) as unknown as { ragmesh: { v1: { RetrievalService: grpc.ServiceClientConstructor } } })
    .ragmesh.v1;

  /** (Re)starts the service with this embedding configuration; a client follows it. */
  async function start(embeddings: Record<string, string>): Promise<void> {
    client?.close();
    await service?.close();
    const port = await freePort();
    const config = loadAppConfig({
      ...process.env,
      RETRIEVAL_GRPC_PORT: String(port),
      OPS_PORT: '0',
      LOG_LEVEL: 'warn',
      RETRIEVAL_INSTANCE_ID: run,
      RETRIEVAL_REEMBED_BATCH: '4',
      ...embeddings,
    });
    service = await startRetrieval(config);
    client = new RetrievalService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { interceptors: [serviceTokenInterceptor()] });
  }

  const search = (query: string) =>
    call<Partial<retrieval.SearchRequest>, retrieval.SearchResponse>(client as grpc.Client, 'search', { query, topK: 3, collection: run });

  const storedModels = async (): Promise<{ model: string; next: string | null; dims: number; chunks: number }[]> =>
    (
      await db.query(
        `SELECT c.embedding_model AS model, c.next_embedding_model AS next, array_length(c.embedding, 1) AS dims, count(*)::int AS chunks
           FROM retrieval.chunks c JOIN retrieval.documents d ON d.id = c.document_id
          WHERE d.collection = $1 GROUP BY 1, 2, 3 ORDER BY 1, 2`,
        [run],
      )
    ).rows;

  beforeAll(async () => {
    fake = await startFakeOpenAi({ port: 0, tokenDelayMs: 1 });
    db = new Client({ connectionString: loadAppConfig(process.env).DATABASE_URL });
    await db.connect();
  });

  afterAll(async () => {
    client?.close();
    await service?.close();
    await db?.query(`DELETE FROM retrieval.documents WHERE collection = $1`, [run]);
    await db?.end();
    await fake?.close();
  });

  it('answers from the old vectors until the new ones are complete, then switches and stores the model with them', async () => {
    // 1. Documents written while the local hashing embedder was configured.
    await start({});
    const documents = TOPICS.flatMap((topic, t) =>
      [0, 1, 2].map((v) => ({ id: `${run}-${t}-${v}`, title: topic, content: `${topic}에 관한 글 ${v}번: ${topic} 이야기를 자세히 적었습니다.`, format: 'text', collection: run })),
    );
    await call(client as grpc.Client, 'ingestDocuments', { documents });
    expect(await storedModels()).toEqual([{ model: LOCAL_MODEL, next: null, dims: 256, chunks: documents.length }]);

    // 2. Restart with an upstream model configured; the upstream holds every embedding request.
    await fakeEmbeddings(fake, { paused: true });
    await start({ RETRIEVAL_EMBEDDINGS_URL: `${fake.url}/v1`, RETRIEVAL_EMBEDDINGS_MODEL: UPSTREAM_MODEL });
    await waitFor('the re-embed to reach the upstream', async () => ((await fakeEmbeddings(fake)).waiting > 0 ? true : undefined), 5_000);
    for (const topic of TOPICS) {
      const answer = await search(topic);
      expect(answer.embeddingModel).toBe(LOCAL_MODEL);
      expect(answer.results[0].title).toBe(topic);
      expect(answer.results[0].dense).toBeGreaterThan(0);
    }
    expect(await storedModels()).toEqual([{ model: LOCAL_MODEL, next: null, dims: 256, chunks: documents.length }]);

    // 3. The upstream answers: queries keep answering throughout, and switch once every vector is made.
    await fakeEmbeddings(fake, { paused: false });
    const seen: string[] = [];
    await waitFor('the switch to the upstream model', async () => {
      const answer = await search(TOPICS[seen.length % TOPICS.length]);
      expect(answer.results).toHaveLength(3);
      seen.push(answer.embeddingModel ?? '');
      return answer.embeddingModel === UPSTREAM_MODEL ? true : undefined;
    }, SWITCH_TIMEOUT_MS);
    // Never a query without dense scores, never back to the old model after the switch.
    expect(seen.every((model) => model === LOCAL_MODEL || model === UPSTREAM_MODEL)).toBe(true);
    expect(seen.indexOf(UPSTREAM_MODEL)).toBe(seen.length - 1);
    for (const topic of TOPICS) {
      const answer = await search(topic);
      expect(answer.embeddingModel).toBe(UPSTREAM_MODEL);
      expect(answer.results[0].title).toBe(topic);
    }
    await waitFor('PostgreSQL to promote the new vectors', async () => {
      const models = await storedModels();
      return models.length === 1 && models[0].model === UPSTREAM_MODEL ? models : undefined;
    }, 5_000);
    expect(await storedModels()).toEqual([{ model: UPSTREAM_MODEL, next: null, dims: FAKE_DIMENSIONS, chunks: documents.length }]);

    // 4. A restart with the same configuration serves the stored vectors: nothing is embedded again but the queries.
    const before = await fakeEmbeddings(fake);
    await start({ RETRIEVAL_EMBEDDINGS_URL: `${fake.url}/v1`, RETRIEVAL_EMBEDDINGS_MODEL: UPSTREAM_MODEL });
    const answer = await search(TOPICS[2]);
    expect(answer.embeddingModel).toBe(UPSTREAM_MODEL);
    expect(answer.results[0].title).toBe(TOPICS[2]);
    expect((await fakeEmbeddings(fake)).inputs - before.inputs).toBe(1);
  });
});
