import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EmbeddingResponseError, OpenAiEmbeddingClient } from './embedding-client';
import { UpstreamHttpError } from './openai-engine';

describe('OpenAiEmbeddingClient', () => {
  let server: Server;
  let baseUrl: string;
  /** What the next request is answered with (status, body), from the request body. */
  let answer: (body: { model: string; input: string[] }) => [number, unknown];
  const seen: { path: string; auth: string | undefined; body: { model: string; input: string[] } }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as { model: string; input: string[] };
        seen.push({ path: req.url ?? '', auth: req.headers.authorization, body });
        const [status, payload] = answer(body);
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => (seen.length = 0));

  it('posts the model and inputs, puts vectors back in input order and normalises them', async () => {
    // The server answers in reverse order with unnormalised vectors.
    answer = ({ input }) => [200, { data: input.map((_, i) => ({ index: i, embedding: [3 * (i + 1), 4 * (i + 1)] })).reverse() }];
    const client = new OpenAiEmbeddingClient({ baseUrl: `${baseUrl}/v1/`, model: 'bge-m3', apiKey: 'k' });
    const vectors = await client.embed(['a', 'b']);
    expect(vectors).toEqual([
      [0.6, 0.8],
      [0.6, 0.8],
    ]);
    expect(seen).toEqual([{ path: '/v1/embeddings', auth: 'Bearer k', body: { model: 'bge-m3', input: ['a', 'b'], encoding_format: 'float' } }]);
    expect(await client.embed([])).toEqual([]);
  });

  it('sends long lists in batches', async () => {
    answer = ({ input }) => [200, { data: input.map((text, index) => ({ index, embedding: [text.length, 1] })) }];
    const client = new OpenAiEmbeddingClient({ baseUrl, model: 'm', batchSize: 2 });
    const vectors = await client.embed(['x', 'xx', 'xxx', 'xxxx', 'xxxxx']);
    expect(seen.map((s) => s.body.input.length)).toEqual([2, 2, 1]);
    expect(vectors.map((v) => Math.round(v[0] / v[1]))).toEqual([1, 2, 3, 4, 5]);
  });

  it('rejects an upstream error with its status and malformed answers with the reason', async () => {
    const client = new OpenAiEmbeddingClient({ baseUrl, model: 'm' });
    answer = () => [404, { error: { message: 'model m not found' } }];
    const error = await client.embed(['a']).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(UpstreamHttpError);
    expect((error as UpstreamHttpError).status).toBe(404);
    expect((error as UpstreamHttpError).body).toContain('model m not found');
    for (const [data, reason] of [
      [[], /expected 1 embeddings, got 0/],
      [[{ index: 0, embedding: ['x'] }], /not a non-empty array of finite numbers/],
      [[{ index: 3, embedding: [1] }], /bad or repeated index 3/],
    ] as const) {
      answer = () => [200, { data }];
      await expect(client.embed(['a'])).rejects.toThrow(reason);
    }
    answer = ({ input }) => [200, { data: input.map((text, index) => ({ index, embedding: text === 'a' ? [1] : [1, 2] })) }];
    await expect(new OpenAiEmbeddingClient({ baseUrl, model: 'm', batchSize: 1 }).embed(['a', 'b'])).rejects.toBeInstanceOf(EmbeddingResponseError);
  });

  it('refuses a configuration it cannot use', () => {
    expect(() => new OpenAiEmbeddingClient({ baseUrl: 'not a url', model: 'm' })).toThrow(TypeError);
    expect(() => new OpenAiEmbeddingClient({ baseUrl, model: ' ' })).toThrow(/model must not be empty/);
    expect(() => new OpenAiEmbeddingClient({ baseUrl, model: 'm', batchSize: 0 })).toThrow(RangeError);
  });
});
