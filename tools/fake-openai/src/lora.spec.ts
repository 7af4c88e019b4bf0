import { startFakeOpenAi, type FakeOpenAi } from './server';

describe('fake upstream dynamic LoRA endpoints', () => {
  let fake: FakeOpenAi;
  beforeAll(async () => {
    fake = await startFakeOpenAi({ port: 0, modelId: 'base-x', tokenDelayMs: 1 });
  });
  afterAll(async () => {
    await fake.close();
  });

  const post = (path: string, body: unknown) => fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const models = async () => ((await (await fetch(`${fake.url}/v1/models`)).json()) as { data: { id: string; parent: string | null }[] }).data;

  it('loads an adapter that /v1/models then lists with its base model as parent, and unloads it', async () => {
    const loaded = await post('/v1/load_lora_adapter', { lora_name: 'ad-v1', lora_path: '/adapters/run-1' });
    expect(loaded.status).toBe(200);
    expect(await loaded.text()).toBe("Success: LoRA adapter 'ad-v1' added successfully.");
    expect(await models()).toEqual([expect.objectContaining({ id: 'base-x', parent: null }), expect.objectContaining({ id: 'ad-v1', parent: 'base-x' })]);

    const chat = await post('/v1/chat/completions', { model: 'ad-v1', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.status).toBe(200);

    const again = await post('/v1/load_lora_adapter', { lora_name: 'ad-v1', lora_path: '/adapters/run-1' });
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('has already been loaded');

    const unloaded = await post('/v1/unload_lora_adapter', { lora_name: 'ad-v1' });
    expect(unloaded.status).toBe(200);
    expect((await models()).map((m) => m.id)).toEqual(['base-x']);
  });

  it('fails a load whose path does not exist, an unknown unload and a body without the fields', async () => {
    const missing = await post('/v1/load_lora_adapter', { lora_name: 'ad-x', lora_path: '/adapters/does-not-exist' });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(/No adapter found/u);
    expect((await post('/v1/unload_lora_adapter', { lora_name: 'never-loaded' })).status).toBe(404);
    expect((await post('/v1/unload_lora_adapter', { lora_name: 'base-x' })).status).toBe(404);
    const bad = await post('/v1/load_lora_adapter', { lora_name: 'only-name' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('lora_path');
  });
});
