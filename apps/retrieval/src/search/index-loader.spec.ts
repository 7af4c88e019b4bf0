import { InMemoryDocumentsRepository, modelsOf, RecordingMetrics, TableEmbedder } from '../../test/fakes';
import { LocalHashingEmbedder } from '../common/embedder';
import { chunkIdOf, type ChunkRecord } from '../documents/document.model';
import { INDEX_LOAD_PAGE_SIZE, IndexLoader } from './index-loader';
import { SearchIndex } from './search-index';

function seed(repository: InMemoryDocumentsRepository, documents: number, vectors: (d: number, i: number, text: string) => Partial<ChunkRecord>): void {
  for (let d = 0; d < documents; d += 1) {
    const documentId = `doc${d}`;
    repository.documents.set(documentId, { id: documentId, title: `title ${d}`, format: 'text', content: '', collection: '', metadata: {}, publishedAt: null, contentHash: '' });
    for (let i = 0; i < 5; i += 1) {
      const text = `chunk ${i} of ${d}`;
      repository.chunks.set(chunkIdOf(documentId, i), {
        id: chunkIdOf(documentId, i),
        documentId,
        chunkIndex: i,
        text,
        heading: null,
        tokenCount: 4,
        embedding: [],
        embeddingModel: '',
        nextEmbedding: null,
        nextEmbeddingModel: null,
        metadata: {},
        ...vectors(d, i, `title ${d}\n${text}`),
      });
    }
  }
}

describe('IndexLoader', () => {
  const local = new LocalHashingEmbedder();
  const embedOne = async (text: string): Promise<number[]> => (await local.embed([text]))[0];

  it('loads every chunk page by page, embedding at load those stored by a model this replica cannot run', async () => {
    const repository = new InMemoryDocumentsRepository();
    const total = INDEX_LOAD_PAGE_SIZE + 5;
    const fresh = new Map<string, number[]>();
    for (let d = 0; d < total / 5; d += 1) for (let i = 0; i < 5; i += 1) fresh.set(`doc${d}#${i}`, await embedOne(`title ${d}\nchunk ${i} of ${d}`));
    // doc0 was stored by a model that is gone ("retired-model", 3 dimensions); the rest by the local embedder.
    seed(repository, total / 5, (d, i) =>
      d === 0 ? { embedding: [1, 0, 0], embeddingModel: 'retired-model' } : { embedding: fresh.get(`doc${d}#${i}`), embeddingModel: local.name },
    );
    const index = new SearchIndex();
    const metrics = new RecordingMetrics();
    const models = modelsOf(local);
    await new IndexLoader(repository, index, models, metrics).load();

    expect(index.chunkCount).toBe(total);
    expect(index.documentCount).toBe(total / 5);
    expect(index.model).toBe(local.name);
    expect(metrics.size).toEqual({ documents: total / 5, chunks: total });
    // The index keeps Float32 vectors: equal to the fresh embedding up to float32 rounding.
    const stored = Array.from(index.vectorOf('doc0#0') ?? []);
    const expected = fresh.get('doc0#0') ?? [];
    expect(stored).toHaveLength(expected.length);
    stored.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
  });

  it('serves the stored model while the configured one changes, collecting next vectors that already exist', async () => {
    const repository = new InMemoryDocumentsRepository();
    const newModel = new TableEmbedder(2, [['chunk', [0, 1]]]);
    // Both models can run here; the configuration now says table-embedder. doc1's next vectors were made by another replica.
    seed(repository, 2, (d) => ({
      embedding: [1, 0],
      embeddingModel: 'old-model',
      ...(d === 1 ? { nextEmbedding: [0, 1], nextEmbeddingModel: newModel.name } : {}),
    }));
    const oldModel = new TableEmbedder(2, [], 'old-model');
    const models = modelsOf(newModel, oldModel);
    const index = new SearchIndex();
    await new IndexLoader(repository, index, models, new RecordingMetrics()).load();

    expect(models.serving.name).toBe('old-model');
    expect(models.next?.name).toBe(newModel.name);
    expect(index.model).toBe('old-model');
    expect(index.nextModel).toBe(newModel.name);
    expect(index.missingNext().sort()).toEqual(['doc0#0', 'doc0#1', 'doc0#2', 'doc0#3', 'doc0#4']);
  });
});
