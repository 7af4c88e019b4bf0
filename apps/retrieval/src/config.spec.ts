import { ConfigError } from '@ragmesh/config';
import { loadAppConfig } from './config';
import { embeddingModelsFrom } from './embedding/embedding-models';

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

  it('uses the local embedder unless an embeddings upstream and model are both set', () => {
    expect(embeddingModelsFrom(loadAppConfig({})).target.name).toBe('local-hashing-embedder');
    const models = embeddingModelsFrom(loadAppConfig({ RETRIEVAL_EMBEDDINGS_URL: 'http://vllm:8000/v1', RETRIEVAL_EMBEDDINGS_MODEL: ' bge-m3 ' }));
    expect(models.target.name).toBe('bge-m3');
    // Vectors stored by the local embedder stay servable while the upstream's are made.
    expect(models.serveFrom('local-hashing-embedder')).toBe(true);
    expect(models.next?.name).toBe('bge-m3');
    expect(models.embedderFor('older-upstream-model')?.name).toBe('older-upstream-model');
    expect(embeddingModelsFrom(loadAppConfig({})).serveFrom('bge-m3')).toBe(false);
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
    [{ RETRIEVAL_EMBEDDINGS_URL: 'http://vllm:8000/v1' }, 'RETRIEVAL_EMBEDDINGS_MODEL', /required when RETRIEVAL_EMBEDDINGS_URL/],
    [{ RETRIEVAL_EMBEDDINGS_MODEL: 'bge-m3' }, 'RETRIEVAL_EMBEDDINGS_URL', /required when RETRIEVAL_EMBEDDINGS_MODEL/],
    [{ RETRIEVAL_EMBEDDINGS_URL: 'vllm' }, 'RETRIEVAL_EMBEDDINGS_URL', /absolute URL/],
    [{ RETRIEVAL_REEMBED_BATCH: '0' }, 'RETRIEVAL_REEMBED_BATCH', />= 1/],
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
