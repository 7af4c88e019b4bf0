// The fake upstream is a dev tool, not a lib; only tests reach for it.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { FakeOpenAi, startFakeOpenAi } from '../../../../tools/fake-openai/src/server';
import { upstreamModelsCheck } from './upstream-health';

describe('upstreamModelsCheck (GET /health and GET /v1/models of a real fake upstream)', () => {
  let fake: FakeOpenAi;
  beforeAll(async () => {
    fake = await startFakeOpenAi({ modelId: 'qwen-7b' });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('reports the served models when both answer', async () => {
    await expect(upstreamModelsCheck(`${fake.url}/v1`)()).resolves.toEqual({ models: ['qwen-7b'] });
  });

  it('fails when the server is up but does not serve the required model', async () => {
    await expect(upstreamModelsCheck(fake.url, 'llama-8b')()).rejects.toThrow(/does not serve llama-8b \(serves: qwen-7b\)/u);
  });

  it('fails when /health does', async () => {
    fake.setHealthy(false);
    try {
      await expect(upstreamModelsCheck(fake.url)()).rejects.toThrow(/\/health answered HTTP 503/u);
    } finally {
      fake.setHealthy(true);
    }
  });
});
