import { status } from '@grpc/grpc-js';
import { buildHarness } from '../../test/fakes';
import { InvalidArgumentError, UnavailableError } from '../common/errors';
import { toRpcException } from '../common/grpc-errors';
import type { IngestCommand } from './ingest-document.use-case';
import { MAX_BATCH_DOCUMENTS } from './ingest-documents.use-case';
import { encodePageToken } from './list-documents.use-case';

const doc = (id: string, extra: Partial<IngestCommand> = {}): IngestCommand => ({
  id,
  title: `제목 ${id}`,
  content: `${id} 문서의 본문입니다. 환불은 구매 후 7일 이내에 요청할 수 있습니다.`,
  format: 'text',
  ...extra,
});

async function invalid(promise: Promise<unknown>): Promise<InvalidArgumentError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((toRpcException(err).getError() as { code: number }).code).toBe(status.INVALID_ARGUMENT);
    return err as InvalidArgumentError;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('ListDocumentsUseCase', () => {
  it('pages through documents by id with an opaque token, 20 per page by default', async () => {
    const h = buildHarness();
    const ids = Array.from({ length: 25 }, (_, i) => `d${String(i).padStart(2, '0')}`);
    for (const id of ids) await h.ingest.execute(doc(id, { publishedAt: '2024-01-02', collection: 'c', metadata: { k: id } }));

    const first = await h.list.execute({});
    expect(first.documents.map((d) => d.id)).toEqual(ids.slice(0, 20));
    expect(first.documents[0]).toMatchObject({
      id: 'd00',
      title: '제목 d00',
      collection: 'c',
      publishedAt: '2024-01-02T00:00:00.000Z',
      chunkCount: 1,
      metadata: { k: 'd00' },
    });
    expect(Number.isNaN(Date.parse(first.documents[0].updatedAt))).toBe(false);
    expect(first.nextPageToken).not.toBe('');
    expect(first.nextPageToken).not.toContain('d19');

    const second = await h.list.execute({ pageToken: first.nextPageToken });
    expect(second.documents.map((d) => d.id)).toEqual(ids.slice(20));
    expect(second.nextPageToken).toBe('');

    const small: string[] = [];
    let token = '';
    do {
      const page = await h.list.execute({ pageSize: 7, pageToken: token });
      expect(page.documents.length).toBeLessThanOrEqual(7);
      small.push(...page.documents.map((d) => d.id));
      token = page.nextPageToken;
    } while (token !== '');
    expect(small).toEqual(ids);
  });

  it('filters by collection and reports an undated document with an empty published_at', async () => {
    const h = buildHarness();
    await h.ingest.execute(doc('a', { collection: 'x' }));
    await h.ingest.execute(doc('b', { collection: 'y' }));
    const page = await h.list.execute({ collection: 'y' });
    expect(page.documents.map((d) => d.id)).toEqual(['b']);
    expect(page.documents[0].publishedAt).toBe('');
    expect((await h.list.execute({ pageSize: 100 })).documents).toHaveLength(2);
  });

  it('rejects a bad page size or token, naming the field', async () => {
    const h = buildHarness();
    expect((await invalid(h.list.execute({ pageSize: 101 }))).field).toBe('page_size');
    expect((await invalid(h.list.execute({ pageSize: -1 }))).field).toBe('page_size');
    expect((await invalid(h.list.execute({ pageToken: 'not-a-token' }))).field).toBe('page_token');
    const otherCollection = encodePageToken({ after: 'a', collection: 'x' });
    const err = await invalid(h.list.execute({ pageToken: otherCollection, collection: 'y' }));
    expect(err).toMatchObject({ field: 'page_token', reason: 'was issued for another collection' });
  });
});

describe('IngestDocumentsUseCase', () => {
  it('ingests every document, indexes them, announces each and returns results in request order', async () => {
    const h = buildHarness();
    await h.ingest.execute(doc('b'));
    const { results } = await h.ingestBatch.execute({ documents: [doc('c'), doc('b'), doc('a', { collection: 'k' })] });

    expect(results).toEqual([
      { documentId: 'c', chunkCount: 1, replaced: false },
      { documentId: 'b', chunkCount: 1, replaced: true },
      { documentId: 'a', chunkCount: 1, replaced: false },
    ]);
    expect([...h.repository.documents.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(h.index.documentCount).toBe(3);
    expect(h.events.published.slice(1).map((e) => [e.type, e.payload.documentId])).toEqual([
      ['document.ingested', 'c'],
      ['document.ingested', 'b'],
      ['document.ingested', 'a'],
    ]);
    expect(h.metrics.ingested).toEqual({ created: 3, replaced: 1 });
    const hits = await h.search.execute({ query: '환불 요청', topK: 5, collection: 'k', filters: {} });
    expect(hits.results.map((r) => r.documentId)).toEqual(['a']);
  });

  it('rejects the whole batch naming documents[i].field when any document is bad, writing nothing', async () => {
    const h = buildHarness();
    const cases: [IngestCommand, string][] = [
      [doc('x', { content: '' }), 'documents[1].content'],
      [doc('x', { publishedAt: '2024-02-30' }), 'documents[1].published_at'],
      [doc('bad id'), 'documents[1].id'],
      [doc('x', { format: 'pdf' }), 'documents[1].format'],
      [doc('ok1'), 'documents[1].id'], // duplicate of documents[0]
    ];
    for (const [bad, field] of cases) {
      const err = await invalid(h.ingestBatch.execute({ documents: [doc('ok1'), bad, doc('ok2')] }));
      expect(err.field).toBe(field);
      expect(err.message.startsWith(`${field}: `)).toBe(true);
    }
    expect((await invalid(h.ingestBatch.execute({ documents: [doc('ok1'), doc('ok1')] }))).reason).toBe('duplicates documents[0].id');
    expect(h.repository.documents.size).toBe(0);
    expect(h.index.chunkCount).toBe(0);
    expect(h.events.published).toEqual([]);
  });

  it(`rejects an empty batch or one over ${MAX_BATCH_DOCUMENTS} documents`, async () => {
    const h = buildHarness();
    expect(await invalid(h.ingestBatch.execute({ documents: [] }))).toMatchObject({ field: 'documents', reason: 'must hold at least one document' });
    expect((await invalid(h.ingestBatch.execute({}))).field).toBe('documents');
    const tooMany = Array.from({ length: MAX_BATCH_DOCUMENTS + 1 }, (_, i) => doc(`d${i}`));
    expect((await invalid(h.ingestBatch.execute({ documents: tooMany }))).reason).toMatch(/at most 100/);
    const max = Array.from({ length: MAX_BATCH_DOCUMENTS }, (_, i) => doc(`d${i}`));
    expect((await h.ingestBatch.execute({ documents: max })).results).toHaveLength(MAX_BATCH_DOCUMENTS);
  });

  it('leaves storage, index and events untouched when the transaction fails midway', async () => {
    const h = buildHarness();
    await h.ingest.execute(doc('b', { content: '원래 본문입니다.' }));
    h.repository.failBatchAt = 'c';
    await expect(h.ingestBatch.execute({ documents: [doc('a'), doc('b'), doc('c')] })).rejects.toThrow('write of c failed');
    expect([...h.repository.documents.keys()]).toEqual(['b']);
    expect(h.repository.chunksOf('b')[0].text).toBe('원래 본문입니다.');
    expect(h.index.documentCount).toBe(1);
    expect(h.events.published).toHaveLength(1);
  });

  it('reports UNAVAILABLE when events cannot be published, after storing the batch; a retry succeeds', async () => {
    const h = buildHarness();
    h.events.failWith = new Error('broker down');
    const err = await h.ingestBatch.execute({ documents: [doc('a'), doc('b')] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(h.metrics.publishFailures).toEqual(['document.ingested', 'document.ingested']);
    expect(h.repository.documents.size).toBe(2);
    h.events.failWith = undefined;
    const retry = await h.ingestBatch.execute({ documents: [doc('a'), doc('b')] });
    expect(retry.results.every((r) => r.replaced)).toBe(true);
  });
});
