import * as grpc from '@grpc/grpc-js';
import { generation, serviceTokenInterceptor } from '@ragmesh/contracts';
// The fake upstream is a dev tool, not a lib; only tests reach for it.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { FakeOpenAi, startFakeOpenAi } from '../../../../tools/fake-openai/src/server';
import { RunningGenerationProxy, startGenerationProxy } from '../app';
import { loadAppConfig } from '../config';
import { LOCAL_MODELS } from '../engines/engine-router';
import { freePort, GenerationService } from '../../test/proxy-harness';

jest.setTimeout(30_000);

type GenerationClient = grpc.Client & {
  generate(req: Partial<generation.GenerateRequest>, cb: (err: grpc.ServiceError | null, res?: generation.GenerateResponse) => void): grpc.ClientUnaryCall;
  generateStream(
    req: Partial<generation.GenerateRequest>,
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<generation.GenerateChunk>;
  listModels(req: object, cb: (err: grpc.ServiceError | null, res?: generation.ListModelsResponse) => void): grpc.ClientUnaryCall;
};

async function boot(env: Record<string, string>): Promise<{ proxy: RunningGenerationProxy; client: GenerationClient }> {
  const port = await freePort();
  const config = loadAppConfig({ LOG_LEVEL: 'silent', GENERATION_GRPC_PORT: String(port), OPS_PORT: '0', ...env });
  const proxy = await startGenerationProxy(config);
  const client = new GenerationService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { interceptors: [serviceTokenInterceptor()] }) as unknown as GenerationClient;
  return { proxy, client };
}

function readStream(call: grpc.ClientReadableStream<generation.GenerateChunk>): Promise<generation.GenerateChunk[]> {
  const chunks: generation.GenerateChunk[] = [];
  return new Promise((resolve, reject) => {
    call.on('data', (chunk: generation.GenerateChunk) => chunks.push(chunk));
    call.on('error', reject);
    call.on('end', () => resolve(chunks));
  });
}

const unary = <T>(fn: (cb: (err: grpc.ServiceError | null, res?: T) => void) => unknown): Promise<T> =>
  new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res as T))));

async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const deadline = () => ({ deadline: new Date(Date.now() + 10_000) });

describe('generation-proxy over gRPC', () => {
  describe('local engine', () => {
    let proxy: RunningGenerationProxy;
    let client: GenerationClient;

    beforeAll(async () => {
      ({ proxy, client } = await boot({}));
    });
    afterAll(async () => {
      client.close();
      await proxy.close();
    });

    it('streams cited text from the context, then usage', async () => {
      const chunks = await readStream(
        client.generateStream(
          {
            messages: [{ role: 'user', content: 'How long is the refund window?' }],
            context: [
              { chunkId: 'doc-1#0', title: 'Refund policy', text: 'The refund window is 30 days after delivery. Opened items are excluded.', score: 0.9 },
              { chunkId: 'doc-2#0', title: 'Shipping', text: 'Standard shipping takes three business days.', score: 0.2 },
            ],
          },
          // Metadata carries the correlation id end to end.
          new grpc.Metadata(),
          deadline(),
        ),
      );
      const text = chunks.map((c) => c.delta).join('');
      const final = chunks[chunks.length - 1];
      expect(text).toContain('30 days');
      expect(text).toMatch(/\[1\]/);
      expect(final.finishReason).not.toBe('');
      expect(final.model).toBe('local-extractive');
      expect(final.upstream).toBe('local');
      expect(final.usage?.totalTokens).toBeGreaterThan(0);
    });

    it('answers unary Generate with the same fields', async () => {
      const response = await unary<generation.GenerateResponse>((cb) =>
        client.generate(
          {
            messages: [{ role: 'user', content: '환불 기간은 얼마인가요?' }],
            context: [{ chunkId: 'k1', title: '환불', text: '환불은 구매 후 30일 이내에 가능합니다. 개봉한 상품은 제외됩니다.', score: 1 }],
          },
          cb,
        ),
      );
      expect(response.text).toContain('30일');
      expect(response.model).toBe('local-extractive');
    });

    it('rejects empty messages with INVALID_ARGUMENT naming the field', async () => {
      const err = await readStream(client.generateStream({ messages: [] })).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details).toBe('messages: must not be empty');
      const unaryErr = await unary((cb) => client.generate({ messages: [{ role: 'user', content: 'x' }], temperature: 3 }, cb)).catch(
        (e: grpc.ServiceError) => e,
      );
      expect((unaryErr as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
      expect((unaryErr as grpc.ServiceError).details).toMatch(/^temperature: /);
    });

    it('answers NOT_FOUND for a model nobody serves', async () => {
      const err = await unary((cb) => client.generate({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }, cb)).catch(
        (e: grpc.ServiceError) => e,
      );
      expect((err as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
    });

    it('lists the local models and is ready without an upstream', async () => {
      const response = await unary<generation.ListModelsResponse>((cb) => client.listModels({}, cb));
      expect(response.models.map((m) => m.id)).toEqual(LOCAL_MODELS);
      const ready = await fetch(`http://127.0.0.1:${proxy.opsPort}/health/ready`);
      expect(ready.status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${proxy.opsPort}/metrics`)).text();
      expect(metrics).toMatch(/ragmesh_generation_requests_total\{[^}]*engine="local-extractive"[^}]*outcome="ok"/);
      expect(metrics).toContain('generation_ttft_seconds_bucket');
    });
  });

  describe('with an OpenAI-compatible upstream', () => {
    let fake: FakeOpenAi;
    let proxy: RunningGenerationProxy;
    let client: GenerationClient;

    beforeAll(async () => {
      // Slow tokens leave time to cancel mid-stream.
      fake = await startFakeOpenAi({ port: 0, tokenDelayMs: 30, reply: () => Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ') });
      ({ proxy, client } = await boot({ GENERATION_UPSTREAM_URL: `${fake.url}/v1`, GENERATION_UPSTREAM_MODEL: 'fake-model' }));
    });
    afterAll(async () => {
      client.close();
      await proxy.close();
      await fake.close();
    });

    it('streams the upstream text and its usage', async () => {
      const chunks = await readStream(
        client.generateStream({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 5 }, new grpc.Metadata(), deadline()),
      );
      const text = chunks.map((c) => c.delta).join('');
      expect(text.startsWith('word0 word1')).toBe(true);
      // Each word arrived once: nothing duplicated.
      expect(text.match(/word1\b/gu)).toHaveLength(1);
      const final = chunks[chunks.length - 1];
      // Every chunk names the pool member that served it.
      expect(new Set(chunks.map((c) => c.upstream))).toEqual(new Set([`127.0.0.1:${fake.port}`]));
      expect(final).toMatchObject({ model: 'fake-model' });
      expect(final.usage?.completionTokens).toBeGreaterThan(0);
    });

    it('still answers local-… models locally', async () => {
      const response = await unary<generation.GenerateResponse>((cb) =>
        client.generate({ model: 'local-extractive', messages: [{ role: 'user', content: 'hi' }] }, cb),
      );
      expect(response.upstream).toBe('local');
    });

    it('aborts the upstream request when the client cancels', async () => {
      const abortedBefore = fake.stats.aborted;
      const call = client.generateStream({ messages: [{ role: 'user', content: 'long please' }] }, new grpc.Metadata(), deadline());
      const done = new Promise<void>((resolve) => {
        call.on('error', () => resolve());
        call.on('end', () => resolve());
      });
      await new Promise<void>((resolve) => call.once('data', () => resolve()));
      call.cancel();
      await done;
      await eventually(() => fake.stats.aborted > abortedBefore);
      await eventually(() => fake.stats.active === 0);
    });

    it('aborts the upstream request when the client cancels a unary Generate', async () => {
      const abortedBefore = fake.stats.aborted;
      const activeBefore = fake.stats.active;
      const answered = new Promise<grpc.ServiceError | null>((resolve) => {
        const call = client.generate({ messages: [{ role: 'user', content: 'long please' }] }, (err) => resolve(err));
        void eventually(() => fake.stats.active > activeBefore).then(() => call.cancel());
      });
      expect((await answered)?.code).toBe(grpc.status.CANCELLED);
      await eventually(() => fake.stats.aborted > abortedBefore);
      await eventually(() => fake.stats.active === 0);
    });

    it('lists local and upstream models, and is ready while the upstream is healthy', async () => {
      const response = await unary<generation.ListModelsResponse>((cb) => client.listModels({}, cb));
      expect(response.models).toContainEqual({ id: 'fake-model', ownedBy: 'default', upstream: 'default', kind: 'openai-compatible' });
      expect((await fetch(`http://127.0.0.1:${proxy.opsPort}/health/ready`)).status).toBe(200);
    });
  });

  it('reports UNAVAILABLE with the cause when the upstream is down, and is not ready', async () => {
    const deadPort = await freePort();
    const { proxy, client } = await boot({ GENERATION_UPSTREAM_URL: `http://127.0.0.1:${deadPort}` });
    try {
      const err = await readStream(client.generateStream({ messages: [{ role: 'user', content: 'hi' }] })).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      expect(err?.code).toBe(grpc.status.UNAVAILABLE);
      expect(err?.details).toMatch(/upstream "default" failed/);
      expect((await fetch(`http://127.0.0.1:${proxy.opsPort}/health/ready`)).status).toBe(503);
      const models = await unary<generation.ListModelsResponse>((cb) => client.listModels({}, cb));
      expect(models.models.map((m) => m.id)).toEqual(LOCAL_MODELS);
    } finally {
      client.close();
      await proxy.close();
    }
  });
});
