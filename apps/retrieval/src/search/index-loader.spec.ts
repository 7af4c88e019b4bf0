import { HashingEmbedder } from '@ragmesh/llm';
import { InMemoryDocumentsRepository, RecordingMetrics } from '../../test/fakes';
import { chunkIdOf } from '../documents/document.model';
import { INDEX_LOAD_PAGE_SIZE, IndexLoader } from './index-loader';
import { SearchIndex } from './search-index';

describe('IndexLoader', () => {
  it('loads every chunk page by page and re-embeds vectors of another size', async () => {
    const repository = new InMemoryDocumentsRepository();
    const embedder = new HashingEmbedder();
    const total = INDEX_LOAD_PAGE_SIZE + 5;
    for (let d = 0; d < total / 5; d += 1) {
      const documentId = `doc${d}`;
      repository.documents.set(documentId, {
        id: documentId,
        title: `title ${d}`,
        format: 'text',
        content: '',
        collection: '',
        metadata: {},
        publishedAt: null,
        contentHash: '',
      });
      for (let i = 0; i < 5; i += 1) {
        repository.chunks.set(chunkIdOf(documentId, i), {
          id: chunkIdOf(documentId, i),
          documentId,
          chunkIndex: i,
          text: `chunk ${i} of ${d}`,
          heading: null,
          tokenCount: 4,
          // doc0 was stored by an older embedder with 3 dimensions.
          embedding: d === 0 ? [1, 0, 0] : embedder.embed(`title ${d}\nchunk ${i} of ${d}`),
          metadata: {},
        });
      }
    }
    const index = new SearchIndex();
    const metrics = new RecordingMetrics();
    await new IndexLoader(repository, index, embedder, metrics).load();

    expect(index.chunkCount).toBe(total);
    expect(index.documentCount).toBe(total / 5);
    expect(metrics.size).toEqual({ documents: total / 5, chunks: total });
    // The index keeps Float32 vectors: equal to the fresh embedding up to float32 rounding.
    const stored = Array.from(index.vectorOf('doc0#0') ?? []);
    const fresh = embedder.embed('title 0\nchunk 0 of 0');
    expect(stored).toHaveLength(fresh.length);
    stored.forEach((v, i) => expect(v).toBeCloseTo(fresh[i], 6));
  });
});
