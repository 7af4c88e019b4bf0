import { RetrievalRepository, type IngestDocumentResponse, type SearchRequest, type SearchResponse } from '../grpc/retrieval.repository';
import { SearchCommand, SearchUseCase } from './search.use-case';

class FakeRetrieval extends RetrievalRepository {
  searches: SearchRequest[] = [];
  response: SearchResponse = { results: [], tookMs: 2 };
  async ingest(): Promise<IngestDocumentResponse> {
    throw new Error('not used');
  }
  async delete(): Promise<{ documentId: string; deleted: boolean }> {
    throw new Error('not used');
  }
  async search(request: SearchRequest): Promise<SearchResponse> {
    this.searches.push(request);
    return this.response;
  }
}

const base: SearchCommand = { query: '한라산', topK: 3, filters: {} };

function setup() {
  const retrieval = new FakeRetrieval();
  return { retrieval, useCase: new SearchUseCase(retrieval) };
}

describe('SearchUseCase', () => {
  it('sends no optional field to retrieval when the client gave none, and reports no time range', async () => {
    const { retrieval, useCase } = setup();
    const out = await useCase.execute(base);
    expect(retrieval.searches).toHaveLength(1);
    // Exact keys: an unset proto3 optional must stay unset, not become 0 / ''.
    expect(Object.keys(retrieval.searches[0]).sort()).toEqual(['collection', 'filters', 'query', 'topK']);
    expect(out.timeRange).toBeUndefined();
  });

  it('passes the time window and fusion options through and reports the window retrieval used', async () => {
    const { retrieval, useCase } = setup();
    retrieval.response = { results: [], tookMs: 2, timeRangeMonthsUsed: 12, timeRangeWidened: true, timeRangeExhausted: false };
    const out = await useCase.execute({
      ...base,
      timeAnchor: '2024-05-01T00:00:00.000Z',
      timeRangeMonths: 3,
      minCandidates: 5,
      fusion: 'rrf',
      bm25Weight: 0.25,
    });
    expect(retrieval.searches[0]).toEqual({
      query: '한라산',
      topK: 3,
      filters: {},
      collection: '',
      timeAnchor: '2024-05-01T00:00:00.000Z',
      timeRangeMonths: 3,
      minCandidates: 5,
      fusion: 'rrf',
      bm25Weight: 0.25,
    });
    expect(out.timeRange).toEqual({ months_used: 12, widened: true, exhausted: false });
  });

  it('sends bm25_weight 0 (dense only) rather than dropping it as falsy', async () => {
    const { retrieval, useCase } = setup();
    await useCase.execute({ ...base, bm25Weight: 0 });
    expect(retrieval.searches[0]).toHaveProperty('bm25Weight', 0);
    expect(retrieval.searches[0]).not.toHaveProperty('timeRangeMonths');
  });

  it('fills missing outcome flags with "not widened" when retrieval leaves them unset', async () => {
    const { useCase } = setup();
    const out = await useCase.execute({ ...base, timeRangeMonths: 6 });
    expect(out.timeRange).toEqual({ months_used: 0, widened: false, exhausted: false });
  });
});
