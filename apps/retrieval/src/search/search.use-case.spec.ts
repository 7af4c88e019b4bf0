import { status } from '@grpc/grpc-js';
import { buildHarness, modelsOf, TableEmbedder } from '../../test/fakes';
import { InvalidArgumentError } from '../common/errors';
import { toRpcException } from '../common/grpc-errors';
import type { ChunkWithDocument } from '../documents/document.model';
import { DEFAULT_TOP_K, type SearchCommand } from './search.use-case';

const q = (query: string, extra: Partial<SearchCommand> = {}): SearchCommand => ({ query, topK: 0, collection: '', filters: {}, ...extra });

function chunk(id: string, text: string, embedding: number[], extra: Partial<ChunkWithDocument> = {}): ChunkWithDocument {
  return {
    chunkId: `${id}#0`,
    documentId: id,
    chunkIndex: 0,
    text,
    heading: null,
    embedding,
    embeddingModel: 'table-embedder',
    nextEmbedding: null,
    nextEmbeddingModel: null,
    title: '',
    collection: '',
    publishedAt: null,
    documentMetadata: {},
    ...extra,
  };
}

async function invalidField(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((toRpcException(err).getError() as { code: number }).code).toBe(status.INVALID_ARGUMENT);
    return (err as InvalidArgumentError).field;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('SearchUseCase', () => {
  describe('fusion over the index', () => {
    // The query vector is [1, 0]; "lexical" matches the words but points away, "semantic" the opposite.
    const embedder = new TableEmbedder(2, [['query', [1, 0]]]);
    const setup = (bm25Weight = 0.6) => {
      const h = buildHarness({ embedder, search: { bm25Weight } });
      h.index.addChunk(chunk('lexical', 'alpha beta alpha beta', [0, 1]));
      h.index.addChunk(chunk('semantic', 'gamma delta', [1, 0]));
      h.index.addChunk(chunk('middle', 'alpha gamma delta epsilon zeta', [Math.SQRT1_2, Math.SQRT1_2]));
      return h;
    };

    it('returns min-max scaled bm25 and dense and their 0.6/0.4 fusion', async () => {
      const { results } = await setup().search.execute(q('query alpha beta'));
      const byId = Object.fromEntries(results.map((r) => [r.documentId, r]));
      expect(byId.lexical).toMatchObject({ bm25: 1, dense: 0, score: 0.6 });
      expect(byId.semantic).toMatchObject({ bm25: 0, dense: 1, score: 0.4 });
      expect(byId.middle.dense).toBeCloseTo(Math.SQRT1_2);
      expect(byId.middle.bm25).toBeGreaterThan(0);
      expect(byId.middle.bm25).toBeLessThan(1);
      expect(byId.middle.score).toBeCloseTo(0.6 * byId.middle.bm25 + 0.4 * byId.middle.dense);
      expect(results.map((r) => r.score)).toEqual([...results.map((r) => r.score)].sort((a, b) => b - a));
    });

    it('lets the configured weight decide between lexical and semantic', async () => {
      expect((await setup(0.9).search.execute(q('query alpha beta'))).results[0].documentId).toBe('lexical');
      expect((await setup(0.1).search.execute(q('query alpha beta'))).results[0].documentId).toBe('semantic');
    });

    it('finds semantic-only candidates that share no term with the query', async () => {
      const { results } = await setup().search.execute(q('query'));
      expect(results[0]).toMatchObject({ documentId: 'semantic', dense: 1, bm25: 0 });
    });
  });

  it('ranks the Korean document first for a Korean question (real tokenizer and embedder)', async () => {
    const h = buildHarness();
    await h.ingest.execute({
      id: 'en',
      title: 'Vacation policy',
      content: 'Employees receive fifteen days of paid annual leave after one year.',
      format: 'text',
    });
    await h.ingest.execute({
      id: 'ko',
      title: '휴가 규정',
      content: '직원은 입사 1년 후 15일의 유급 연차 휴가를 받습니다. 연차는 팀장 승인 후 사용합니다.',
      format: 'text',
    });
    const { results, tookMs } = await h.search.execute(q('연차 휴가는 며칠인가요?'));
    expect(results[0].documentId).toBe('ko');
    expect(results[0].chunkId).toBe('ko#0');
    expect(results[0].title).toBe('휴가 규정');
    expect(tookMs).toBeGreaterThanOrEqual(0);
    expect(h.metrics.searches).toHaveLength(1);
    // Every stage is timed, and the stages add up to no more than the whole search.
    const stages = h.metrics.stages[0];
    expect(Object.keys(stages).sort()).toEqual(['bm25', 'dense', 'embed', 'filter', 'fusion']);
    const sum = Object.values(stages).reduce((a, b) => a + b, 0);
    expect(Object.values(stages).every((s) => s >= 0)).toBe(true);
    expect(sum).toBeLessThanOrEqual(h.metrics.searches[0] + 1e-9);
  });

  it('searches with BM25 alone, and says so, when the query cannot be embedded', async () => {
    const embedder = new TableEmbedder(2, [['query', [1, 0]]]);
    const h = buildHarness({ embedder });
    await h.ingest.execute({ id: 'doc', content: 'a query about refunds', format: 'text' });
    embedder.embed = () => Promise.reject(new Error('upstream down'));
    const { results, embeddingModel } = await h.search.execute(q('query refunds'));
    expect(embeddingModel).toBe('');
    expect(results[0]).toMatchObject({ documentId: 'doc', bm25: 1, dense: 0 });
    expect(h.metrics.queryEmbeddingFailures).toBe(1);
  });

  it('embeds the query again when the index switched models while the first embedding was in flight', async () => {
    const oldModel = new TableEmbedder(2, [['query', [1, 0]]], 'old');
    const newModel = new TableEmbedder(3, [['query', [0, 0, 1]]], 'new');
    const h = buildHarness({ models: modelsOf(newModel, oldModel) });
    h.models.serveFrom('old');
    await h.ingest.execute({ id: 'doc', content: 'the query text', format: 'text' });
    // The switch lands during the old model's call for the query.
    oldModel.embed = (texts) => {
      h.index.promoteNext();
      h.models.completeSwitch();
      return Promise.resolve(texts.map(() => [1, 0]));
    };
    h.index.startNext('new');
    h.index.setNextVector('doc#0', 'new', [0, 0, 1]);
    const { results, embeddingModel } = await h.search.execute(q('query'));
    expect(embeddingModel).toBe('new');
    expect(h.index.model).toBe('new');
    expect(results[0].dense).toBe(1);
  });

  it('applies collection and exact metadata filters before cutting to the candidates', async () => {
    const h = buildHarness({ search: { candidates: 10 } });
    const doc = (id: string, collection: string, lang: string) =>
      h.ingest.execute({ id, title: id, content: `refund policy for orders ${id}`, format: 'text', collection, metadata: { lang } });
    await doc('a', 'shop', 'en');
    await doc('b', 'shop', 'ko');
    await doc('c', 'blog', 'en');
    // Many strong matches outside the filter must not push the filtered ones out of the candidates.
    for (let i = 0; i < 20; i += 1) await doc(`noise${i}`, 'noise', 'en');

    const inShop = await h.search.execute(q('refund policy', { topK: 10, collection: 'shop' }));
    expect(inShop.results.map((r) => r.documentId).sort()).toEqual(['a', 'b']);

    const shopEn = await h.search.execute(q('refund policy', { collection: 'shop', filters: { lang: 'en' } }));
    expect(shopEn.results.map((r) => r.documentId)).toEqual(['a']);
    expect(shopEn.results[0].metadata).toEqual({ lang: 'en', collection: 'shop' });

    const none = await h.search.execute(q('refund policy', { filters: { lang: 'fr' } }));
    expect(none.results).toEqual([]);
  });

  it('returns top_k results, 5 by default', async () => {
    const h = buildHarness();
    for (let i = 0; i < 12; i += 1) {
      await h.ingest.execute({ id: `d${i}`, title: '', content: `shared words number ${i}`, format: 'text' });
    }
    expect((await h.search.execute(q('shared words'))).results).toHaveLength(DEFAULT_TOP_K);
    expect((await h.search.execute(q('shared words', { topK: 50 }))).results).toHaveLength(12);
    expect((await h.search.execute(q('shared words', { topK: 1 }))).results).toHaveLength(1);
  });

  it('returns nothing from an empty index', async () => {
    expect((await buildHarness().search.execute(q('anything'))).results).toEqual([]);
  });

  it('rejects a bad query with INVALID_ARGUMENT naming the field', async () => {
    const h = buildHarness();
    expect(await invalidField(h.search.execute(q('')))).toBe('query');
    expect(await invalidField(h.search.execute(q('   ')))).toBe('query');
    expect(await invalidField(h.search.execute(q('x'.repeat(2001))))).toBe('query');
    expect(await invalidField(h.search.execute(q('ok', { topK: 51 })))).toBe('top_k');
    expect(await invalidField(h.search.execute(q('ok', { topK: -1 })))).toBe('top_k');
    expect(await invalidField(h.search.execute(q('ok', { collection: 'c'.repeat(129) })))).toBe('collection');
    expect(await invalidField(h.search.execute(q('ok', { filters: { '': 'x' } })))).toMatch(/^filters/);
  });

  describe('per-request fusion override', () => {
    const embedder = new TableEmbedder(2, [['query', [1, 0]]]);
    const setup = () => {
      const h = buildHarness({ embedder, search: { bm25Weight: 0.6, method: 'minmax' } });
      h.index.addChunk(chunk('lexical', 'alpha beta alpha beta', [0, 1]));
      h.index.addChunk(chunk('semantic', 'gamma delta', [1, 0]));
      return h;
    };

    it('takes bm25_weight from the request, including 0 (dense only) and 1 (BM25 only)', async () => {
      const h = setup();
      expect((await h.search.execute(q('query alpha beta'))).results[0]).toMatchObject({ documentId: 'lexical', score: 0.6 });
      const dense = await h.search.execute(q('query alpha beta', { bm25Weight: 0 }));
      expect(dense.results[0]).toMatchObject({ documentId: 'semantic', score: 1 });
      expect(dense.results[1]).toMatchObject({ documentId: 'lexical', score: 0 });
      const lexical = await h.search.execute(q('query alpha beta', { bm25Weight: 1 }));
      expect(lexical.results[0]).toMatchObject({ documentId: 'lexical', score: 1 });
      expect((await h.search.execute(q('query alpha beta', { bm25Weight: 0.2 }))).results[0]).toMatchObject({
        documentId: 'semantic',
        score: 0.8,
      });
    });

    it('takes the fusion method from the request (rrf scores are 1/(60 + rank) weighted)', async () => {
      const h = setup();
      const rrf = await h.search.execute(q('query alpha beta', { fusion: 'rrf', bm25Weight: 0.5 }));
      const byId = Object.fromEntries(rrf.results.map((r) => [r.documentId, r.score]));
      expect(byId.lexical).toBeCloseTo(0.5 / 61);
      expect(byId.semantic).toBeCloseTo(0.5 / 61);
      expect((await h.search.execute(q('query alpha beta', { fusion: 'MINMAX' }))).results[0].score).toBe(0.6);
      // Empty means the service default (minmax here).
      expect((await h.search.execute(q('query alpha beta', { fusion: '' }))).results[0].score).toBe(0.6);
    });

    it('rejects an unknown method or a weight outside [0, 1], naming the field', async () => {
      const h = setup();
      expect(await invalidField(h.search.execute(q('x', { fusion: 'borda' })))).toBe('fusion');
      expect(await invalidField(h.search.execute(q('x', { bm25Weight: 1.5 })))).toBe('bm25_weight');
      expect(await invalidField(h.search.execute(q('x', { bm25Weight: -0.1 })))).toBe('bm25_weight');
      expect(await invalidField(h.search.execute(q('x', { bm25Weight: Number.NaN })))).toBe('bm25_weight');
    });
  });

  describe('time range with widening', () => {
    const anchor = '2024-06-30';
    // One "refund" document per age; ages in months before the anchor.
    const setup = async (ages: number[], extra: { undated?: boolean } = {}) => {
      const h = buildHarness();
      for (const age of ages) {
        const published = new Date(Date.UTC(2024, 5 - age, 15)).toISOString();
        await h.ingest.execute({ id: `m${age}`, title: '', content: `refund policy revision ${age}`, format: 'text', publishedAt: published });
      }
      if (extra.undated) await h.ingest.execute({ id: 'undated', title: '', content: 'refund policy undated', format: 'text' });
      await h.ingest.execute({ id: 'future', title: '', content: 'refund policy future', format: 'text', publishedAt: '2024-09-01' });
      return h;
    };
    const docs = (r: { results: { documentId: string }[] }) => r.results.map((x) => x.documentId).sort();

    it('searches everything (and says no window) when no range is asked for', async () => {
      const h = await setup([1, 20], { undated: true });
      const res = await h.search.execute(q('refund policy', { topK: 10 }));
      expect(docs(res)).toEqual(['future', 'm1', 'm20', 'undated']);
      expect(res).toMatchObject({ timeRangeMonthsUsed: 0, timeRangeWidened: false, timeRangeExhausted: false });
    });

    it('keeps the requested window when it holds min_candidates matches', async () => {
      const h = await setup([0, 1, 2, 8, 20], { undated: true });
      const res = await h.search.execute(q('refund policy', { topK: 10, timeAnchor: anchor, timeRangeMonths: 3 }));
      expect(docs(res)).toEqual(['m0', 'm1', 'm2']);
      expect(res).toMatchObject({ timeRangeMonthsUsed: 3, timeRangeWidened: false, timeRangeExhausted: false });
    });

    it('widens 3 → 6 → 12 when the window holds too few, and reports the range used', async () => {
      const h = await setup([1, 8, 20]);
      const res = await h.search.execute(q('refund policy', { topK: 10, timeAnchor: anchor, timeRangeMonths: 3, minCandidates: 2 }));
      expect(docs(res)).toEqual(['m1', 'm8']);
      expect(res).toMatchObject({ timeRangeMonthsUsed: 12, timeRangeWidened: true, timeRangeExhausted: false });
      const three = await h.search.execute(q('refund policy', { topK: 10, timeAnchor: anchor, timeRangeMonths: 3, minCandidates: 3 }));
      expect(docs(three)).toEqual(['m1', 'm20', 'm8']);
      expect(three.timeRangeMonthsUsed).toBe(24);
    });

    it('stops at 60 months with what is there and says the minimum was not met', async () => {
      const h = await setup([1, 70], { undated: true });
      const res = await h.search.execute(q('refund policy', { topK: 10, timeAnchor: anchor, timeRangeMonths: 6 }));
      expect(docs(res)).toEqual(['m1']);
      expect(res).toMatchObject({ timeRangeMonthsUsed: 60, timeRangeWidened: true, timeRangeExhausted: true });
    });

    it('counts only chunks the query matches and that pass the other filters', async () => {
      const h = await setup([1, 2]);
      await h.ingest.execute({ id: 'other', title: '', content: '완전히 다른 주제', format: 'text', publishedAt: '2024-06-01' });
      await h.ingest.execute({
        id: 'blog',
        title: '',
        content: 'refund policy blog',
        format: 'text',
        publishedAt: '2024-06-01',
        collection: 'blog',
      });
      const res = await h.search.execute(q('refund policy', { topK: 10, timeAnchor: anchor, timeRangeMonths: 3, collection: '' }));
      expect(res.timeRangeMonthsUsed).toBe(3);
      const onlyDefault = await h.search.execute(q('refund policy', { topK: 10, timeAnchor: anchor, timeRangeMonths: 3, filters: { collection: 'none' } }));
      expect(onlyDefault).toMatchObject({ results: [], timeRangeMonthsUsed: 60, timeRangeExhausted: true });
    });

    it('defaults the anchor to now', async () => {
      const h = buildHarness();
      const recent = new Date(Date.now() - 10 * 86_400_000).toISOString();
      await h.ingest.execute({ id: 'recent', title: '', content: 'refund policy', format: 'text', publishedAt: recent });
      await h.ingest.execute({ id: 'old', title: '', content: 'refund policy', format: 'text', publishedAt: '2001-01-01' });
      const res = await h.search.execute(q('refund policy', { timeRangeMonths: 3, minCandidates: 1 }));
      expect(res.results.map((r) => r.documentId)).toEqual(['recent']);
      expect(res.timeRangeMonthsUsed).toBe(3);
    });

    it('rejects bad time parameters, naming the field', async () => {
      const h = buildHarness();
      expect(await invalidField(h.search.execute(q('x', { timeAnchor: 'last week' })))).toBe('time_anchor');
      expect(await invalidField(h.search.execute(q('x', { timeAnchor: '2024-02-30' })))).toBe('time_anchor');
      expect(await invalidField(h.search.execute(q('x', { timeRangeMonths: -1 })))).toBe('time_range_months');
      expect(await invalidField(h.search.execute(q('x', { timeRangeMonths: 1.5 })))).toBe('time_range_months');
      expect(await invalidField(h.search.execute(q('x', { timeRangeMonths: 1201 })))).toBe('time_range_months');
      expect(await invalidField(h.search.execute(q('x', { minCandidates: 101 })))).toBe('min_candidates');
      expect(await invalidField(h.search.execute(q('x', { minCandidates: -3 })))).toBe('min_candidates');
    });
  });
});
