import { normalizeBaseUrl, validateRegisterUpstream, validateUpdateUpstream } from './upstream.schemas';

const good = { name: 'gpu-a-1', baseUrl: 'http://10.0.0.5:8000', kind: 'vllm' };

function errorsOf(input: unknown) {
  const result = validateRegisterUpstream(input);
  if (result.ok) throw new Error('expected errors');
  return result.errors;
}

describe('routing fields', () => {
  it('takes weight, max concurrency and labels, with proto3 zero meaning the default weight', () => {
    const result = validateRegisterUpstream({ ...good, weight: 0, maxConcurrency: 8, labels: ['multimodal', 'multimodal', 'device=cuda:0'] });
    expect(result.ok && result.value).toMatchObject({ weight: 1, maxConcurrency: 8, labels: ['multimodal', 'device=cuda:0'] });
  });

  it.each([
    [{ weight: -1 }, 'weight'],
    [{ maxConcurrency: 1.5 }, 'max_concurrency'],
    [{ labels: ['Has Space'] }, 'labels[0]'],
  ])('rejects %j naming %s', (extra, field) => {
    expect(errorsOf({ ...good, ...extra })[0].field).toBe(field);
  });

  it('validates an update: only the fields present, unknown fields named', () => {
    expect(validateUpdateUpstream({ name: 'gpu-a-1', weight: 2 })).toEqual({ ok: true, value: { name: 'gpu-a-1', weight: 2 } });
    const unknown = validateUpdateUpstream({ name: 'gpu-a-1', colour: 'red' });
    expect(unknown.ok ? [] : unknown.errors.map((e) => e.field)).toEqual(['colour']);
  });
});

describe('validateRegisterUpstream', () => {
  it('accepts a good request, defaults models and removes duplicates', () => {
    expect(validateRegisterUpstream(good)).toEqual({ ok: true, value: { ...good, models: [], weight: 1, maxConcurrency: 0, labels: [] } });
    const withModels = validateRegisterUpstream({ ...good, models: ['qwen', 'qwen', 'lora-a'] });
    expect(withModels.ok && withModels.value.models).toEqual(['qwen', 'lora-a']);
  });

  it.each([
    ['', 'name'],
    ['Upper', 'name'],
    ['under_score', 'name'],
    ['x'.repeat(65), 'name'],
  ])('rejects name %j', (name, field) => {
    expect(errorsOf({ ...good, name })[0].field).toBe(field);
  });

  it('accepts a 64-character name and reserves "local"', () => {
    expect(validateRegisterUpstream({ ...good, name: 'a'.repeat(64) }).ok).toBe(true);
    expect(errorsOf({ ...good, name: 'local' })).toEqual([{ field: 'name', reason: 'is reserved for the local engine' }]);
  });

  it.each(['ftp://host', 'not a url', 'vllm:8000', 'http://'])('rejects base_url %j', (baseUrl) => {
    expect(errorsOf({ ...good, baseUrl })).toEqual([{ field: 'base_url', reason: 'must be an absolute http(s) URL' }]);
  });

  it('rejects an unknown kind and the reserved local kind', () => {
    expect(errorsOf({ ...good, kind: 'tgi' })[0]).toEqual({ field: 'kind', reason: 'must be one of vllm, ray-serve, openai-compatible' });
    expect(errorsOf({ ...good, kind: 'local' })[0].field).toBe('kind');
  });

  it('names every bad field, including inside models', () => {
    expect(errorsOf({ name: 'A', baseUrl: 'x', kind: 'x', models: ['ok', ''] }).map((e) => e.field)).toEqual([
      'name',
      'base_url',
      'kind',
      'models[1]',
    ]);
  });

  it('reports missing fields and non-object bodies', () => {
    expect(errorsOf({}).map((e) => `${e.field}: ${e.reason}`)).toEqual([
      'name: is required',
      'base_url: is required',
      'kind: must be one of vllm, ray-serve, openai-compatible',
    ]);
    expect(errorsOf([1])).toEqual([{ field: 'body', reason: 'must be a JSON object' }]);
    expect(errorsOf(null)[0].field).toBe('body');
  });

  it('normalizes the base URL to the server root', () => {
    expect(normalizeBaseUrl('http://h:8000/v1/')).toBe('http://h:8000');
    expect(normalizeBaseUrl('https://h/serve/')).toBe('https://h/serve');
  });
});
