import { ConfigError } from '@ragmesh/config';
import { loadAppConfig } from './config';

describe('retrieval config', () => {
  it('runs locally without any environment', () => {
    const config = loadAppConfig({});
    expect(config).toMatchObject({
      RETRIEVAL_GRPC_PORT: 50051,
      OPS_PORT: 9101,
      CHUNK_MAX_TOKENS: 200,
      CHUNK_OVERLAP_TOKENS: 40,
      FUSION_BM25_WEIGHT: 0.6,
      FUSION_METHOD: 'minmax',
    });
    expect(config.RETRIEVAL_INSTANCE_ID).not.toBe('');
  });

  it('reads the fusion weight as a fraction', () => {
    expect(loadAppConfig({ FUSION_BM25_WEIGHT: '0.25' }).FUSION_BM25_WEIGHT).toBe(0.25);
    expect(loadAppConfig({ FUSION_BM25_WEIGHT: '' }).FUSION_BM25_WEIGHT).toBe(0.6);
  });

  it.each([
    [{ FUSION_BM25_WEIGHT: '1.5' }, 'FUSION_BM25_WEIGHT', /between 0 and 1/],
    [{ FUSION_BM25_WEIGHT: 'high' }, 'FUSION_BM25_WEIGHT', /between 0 and 1/],
    [{ FUSION_METHOD: 'sum' }, 'FUSION_METHOD', /minmax, rrf/],
    [{ RETRIEVAL_GRPC_PORT: 'x' }, 'RETRIEVAL_GRPC_PORT', /integer/],
    [{ CHUNK_MAX_TOKENS: '100', CHUNK_OVERLAP_TOKENS: '100' }, 'CHUNK_OVERLAP_TOKENS', /< CHUNK_MAX_TOKENS/],
  ])('stops the boot naming the variable: %j', (source, variable, reason) => {
    let caught: unknown;
    try {
      loadAppConfig(source);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe(variable);
    expect((caught as ConfigError).message).toMatch(reason);
  });
});
