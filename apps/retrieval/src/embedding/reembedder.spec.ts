import { HashingEmbedder } from '@ragmesh/llm';
import { buildHarness, InMemoryDocumentsRepository, modelsOf, RecordingMetrics } from '../../test/fakes';
import { Embedder, LocalHashingEmbedder } from '../common/embedder';
import { vectorBy } from '../documents/document.model';
import { IndexLoader } from '../search/index-loader';
import { SearchIndex } from '../search/search-index';
import { Reembedder } from './reembedder';

/** A "new model" whose calls wait for the test to open the gate, and may fail a number of times first. */
class GatedEmbedder extends Embedder {
  calls = 0;
  failures = 0;
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;
  private readonly inner = new HashingEmbedder(64);

  constructor(readonly name: string) {
    super();
  }

  close(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open();
  }

  async embed(texts: string[]): Promise<number[][]> {
    this.calls += 1;
    await this.gate;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('upstream down');
    }
    return texts.map((text) => this.inner.embed(text));
  }
}

const DOCS = ['서울의 봄 날씨는 따뜻합니다.', '부산 바다는 여름에 붐빕니다.', '제주도 감귤이 유명합니다.', '강릉 커피 거리가 있습니다.'];

/** A store written while the local embedder was configured, and a replica restarted with `target`. */
async function restartedWith(target: GatedEmbedder) {
  const old = new LocalHashingEmbedder();
  const before = buildHarness({ models: modelsOf(old) });
  for (const [i, content] of DOCS.entries()) await before.ingest.execute({ id: `d${i}`, content, format: 'text' });
  const repository: InMemoryDocumentsRepository = before.repository;
  const index = new SearchIndex();
  const models = modelsOf(target, old);
  const metrics = new RecordingMetrics();
  await new IndexLoader(repository, index, models, metrics).load();
  const replica = buildHarness({ repository, index, models });
  const reembedder = new Reembedder(repository, index, models, metrics, { batch: 3, retryDelayMs: 5 });
  return { old, repository, index, models, metrics, replica, reembedder };
}

describe('Reembedder', () => {
  it('keeps answering from the old vectors during the re-embed, then switches index, queries and storage', async () => {
    const target = new GatedEmbedder('new-model');
    const { old, repository, index, models, metrics, replica, reembedder } = await restartedWith(target);
    expect(models.serving.name).toBe(old.name);

    target.close();
    reembedder.start();
    const during = await replica.search.execute({ query: '제주도 감귤', topK: 1 });
    expect(during.embeddingModel).toBe(old.name);
    expect(during.results[0].documentId).toBe('d2');
    expect(during.results[0].dense).toBeGreaterThan(0);
    // An ingest meanwhile needs both vectors; it waits for the new model like the re-embed does.
    const late = replica.ingest.execute({ id: 'late', content: '전주 비빔밥이 맛있습니다.', format: 'text' });
    expect(index.model).toBe(old.name);

    target.release();
    await Promise.all([late, reembedder.done()]);
    expect(index.model).toBe('new-model');
    expect(models.serving.name).toBe('new-model');
    expect(models.next).toBeUndefined();
    for (const chunk of repository.chunks.values()) expect(vectorBy(chunk, 'new-model')).toHaveLength(64);
    expect([...repository.chunks.values()].filter((c) => c.embeddingModel !== 'new-model')).toHaveLength(
      // The late ingest may land after the promotion: its new vector then waits in next_embedding.
      [...repository.chunks.values()].filter((c) => c.nextEmbeddingModel === 'new-model').length,
    );
    expect(metrics.reembedded).toBeGreaterThanOrEqual(DOCS.length);
    const after = await replica.search.execute({ query: '전주 비빔밥', topK: 1 });
    expect(after.embeddingModel).toBe('new-model');
    expect(after.results[0].documentId).toBe('late');
    expect(Array.from(index.vectorOf('d2#0') ?? [])).toHaveLength(64);
  });

  it('retries after an upstream failure and finishes', async () => {
    const target = new GatedEmbedder('new-model');
    const { index, reembedder } = await restartedWith(target);
    target.failures = 2;
    reembedder.start();
    await reembedder.done();
    expect(index.model).toBe('new-model');
    expect(target.calls).toBeGreaterThanOrEqual(3);
  });

  it('does nothing when every vector is already by the configured model', async () => {
    const target = new GatedEmbedder('new-model');
    const { index, reembedder } = await restartedWith(target);
    await reembedder.run();
    const calls = target.calls;
    await reembedder.run();
    expect(target.calls).toBe(calls);
    expect(index.model).toBe('new-model');
  });

  it('stops between steps without switching', async () => {
    const target = new GatedEmbedder('new-model');
    const { index, models, reembedder } = await restartedWith(target);
    target.close();
    reembedder.start();
    const stopped = reembedder.stop();
    target.release();
    await stopped;
    expect(index.model).toBe(new LocalHashingEmbedder().name);
    expect(models.next?.name).toBe('new-model');
  });
});
