import { OpenAiEmbeddingClient, UpstreamHttpError } from '@ragmesh/llm';
import { FAKE_EMBEDDING_DIMENSIONS, fakeEmbedding } from './embeddings';
import { startFakeOpenAi, type FakeOpenAi } from './server';

const dot = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * b[i], 0);

describe('fake /v1/embeddings', () => {
  let fake: FakeOpenAi;
  beforeAll(async () => {
    fake = await startFakeOpenAi({ port: 0, modelId: 'fake-x', tokenDelayMs: 1 });
  });
  afterAll(async () => {
    await fake.close();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('answers OpenAI-shaped, deterministic, normalised vectors per model name', async () => {
    const res = await post('/v1/embeddings', { model: 'embed-a', input: ['서울의 날씨', 'weather in Seoul'] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; model: string; data: { index: number; embedding: number[] }[]; usage: { prompt_tokens: number } };
    expect(body.object).toBe('list');
    expect(body.model).toBe('embed-a');
    expect(body.data.map((d) => d.index)).toEqual([0, 1]);
    expect(body.data[0].embedding).toHaveLength(FAKE_EMBEDDING_DIMENSIONS);
    expect(body.data[0].embedding).toEqual(fakeEmbedding('embed-a', '서울의 날씨'));
    expect(dot(body.data[0].embedding, body.data[0].embedding)).toBeCloseTo(1, 6);
    expect(body.usage.prompt_tokens).toBe(6 + 16);
  });

  it('gives two model names incompatible spaces, and similar texts similar vectors within one', () => {
    const a = fakeEmbedding('embed-a', '숙소가 깨끗하고 넓어요');
    expect(dot(a, fakeEmbedding('embed-a', '숙소가 깨끗하고 넓었어요'))).toBeGreaterThan(0.6);
    expect(Math.abs(dot(a, fakeEmbedding('embed-b', '숙소가 깨끗하고 넓어요')))).toBeLessThan(0.3);
  });

  it('honours dimensions and rejects bad requests naming the field', async () => {
    const ok = (await (await post('/v1/embeddings', { model: 'm', input: 'x', dimensions: 8 })).json()) as { data: { embedding: number[] }[] };
    expect(ok.data[0].embedding).toHaveLength(8);
    for (const [body, param] of [
      [{ input: 'x' }, 'model'],
      [{ model: 'm', input: [] }, 'input'],
      [{ model: 'm', input: [1] }, 'input'],
      [{ model: 'm', input: 'x', dimensions: 0 }, 'dimensions'],
      [{ model: 'm', input: 'x', encoding_format: 'base64' }, 'encoding_format'],
    ] as const) {
      const res = await post('/v1/embeddings', body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe(param);
    }
  });

  it('holds requests while paused and answers them on resume', async () => {
    await post('/fake/embeddings', { paused: true });
    let answered = false;
    const pending = post('/v1/embeddings', { model: 'm', input: 'held' }).then((res) => {
      answered = true;
      return res.status;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered).toBe(false);
    const stats = (await (await post('/fake/embeddings', { paused: false })).json()) as { paused: boolean };
    expect(stats.paused).toBe(false);
    await expect(pending).resolves.toBe(200);
  });

  it('serves @ragmesh/llm OpenAiEmbeddingClient in batches, in input order', async () => {
    const client = new OpenAiEmbeddingClient({ baseUrl: `${fake.url}/v1`, model: 'embed-a', batchSize: 2 });
    const texts = ['하나', '둘', '셋', '넷', '다섯'];
    const before = ((await (await post('/fake/embeddings', {})).json()) as { requests: number }).requests;
    const vectors = await client.embed(texts);
    // The client re-normalises: equal up to rounding.
    vectors.forEach((v, i) => expect(dot(v, fakeEmbedding('embed-a', texts[i]))).toBeCloseTo(1, 9));
    const after = ((await (await post('/fake/embeddings', {})).json()) as { requests: number }).requests;
    expect(after - before).toBe(3);
    await expect(new OpenAiEmbeddingClient({ baseUrl: fake.url, model: 'm' }).embed([''.padEnd(2 * 1024 * 1024, 'x')])).rejects.toBeInstanceOf(
      UpstreamHttpError,
    );
  });
});
