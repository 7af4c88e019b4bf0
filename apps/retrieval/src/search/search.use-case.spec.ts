import { status } from '@grpc/grpc-js';
import { buildHarness, TableEmbedder } from '../../test/fakes';
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
});
