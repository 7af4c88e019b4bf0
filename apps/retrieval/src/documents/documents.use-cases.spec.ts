import { status } from '@grpc/grpc-js';
import { RpcException } from '@nestjs/microservices';
import { buildHarness } from '../../test/fakes';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '../common/errors';
import { toRpcException } from '../common/grpc-errors';
import type { IngestCommand } from './ingest-document.use-case';
import { MAX_CONTENT_BYTES } from './ingest-document.use-case';

const base: IngestCommand = {
  id: 'doc-1',
  title: '연차 휴가 규정',
  content: '# 연차\n\n입사 1년 후 연차 휴가는 15일이 주어집니다.\n\n# 병가\n\n병가는 연 10일까지 사용할 수 있습니다.',
  format: 'markdown',
  metadata: { team: 'hr' },
  publishedAt: '2024-03-01',
  collection: 'policies',
};

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

async function expectInvalid(promise: Promise<unknown>, field: string, reason?: RegExp): Promise<void> {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(InvalidArgumentError);
  expect((err as InvalidArgumentError).field).toBe(field);
  if (reason) expect((err as InvalidArgumentError).reason).toMatch(reason);
  const rpc = toRpcException(err).getError() as { code: number; message: string };
  expect(rpc.code).toBe(status.INVALID_ARGUMENT);
  expect(rpc.message.startsWith(`${field}: `)).toBe(true);
}

describe('IngestDocumentUseCase', () => {
  it('stores the document and its chunks, indexes them and announces document.ingested', async () => {
    const h = buildHarness();
    const result = await h.ingest.execute(base);

    expect(result).toEqual({ documentId: 'doc-1', chunkCount: 2, replaced: false });
    const stored = h.repository.documents.get('doc-1');
    expect(stored).toMatchObject({ title: base.title, format: 'markdown', collection: 'policies', metadata: { team: 'hr' } });
    expect(stored?.publishedAt?.toISOString()).toBe('2024-03-01T00:00:00.000Z');
    expect(stored?.contentHash).toMatch(/^[0-9a-f]{64}$/);

    const chunks = h.repository.chunksOf('doc-1');
    expect(chunks.map((c) => c.id)).toEqual(['doc-1#0', 'doc-1#1']);
    expect(chunks.map((c) => c.heading)).toEqual(['연차', '병가']);
    expect(chunks[0].embedding).toHaveLength(256);
    expect(h.index.chunkCount).toBe(2);
    expect(h.index.get('doc-1#1')?.metadata).toEqual({
      team: 'hr',
      collection: 'policies',
      published_at: '2024-03-01T00:00:00.000Z',
      heading: '병가',
    });
    expect(h.events.published).toEqual([
      {
        type: 'document.ingested',
        payload: { documentId: 'doc-1', title: base.title, chunkCount: 2, replaced: false, collection: 'policies' },
      },
    ]);
    expect(h.metrics.ingested).toEqual({ created: 1, replaced: 0 });
    expect(h.metrics.size).toEqual({ documents: 1, chunks: 2 });
  });

  it('replaces every chunk of a re-ingested document, in the store and in the index', async () => {
    const h = buildHarness();
    await h.ingest.execute(base);
    const result = await h.ingest.execute({ ...base, content: 'Only one paragraph now about remote work.', format: 'text' });

    expect(result).toEqual({ documentId: 'doc-1', chunkCount: 1, replaced: true });
    expect(h.repository.chunksOf('doc-1').map((c) => c.text)).toEqual(['Only one paragraph now about remote work.']);
    expect(h.index.chunkCount).toBe(1);
    expect(h.index.get('doc-1#1')).toBeUndefined();
    const hits = await h.search.execute({ query: '병가', topK: 5, collection: '', filters: {} });
    expect(hits.results.every((r) => !r.text.includes('병가'))).toBe(true);
    expect(h.events.published[1].payload).toMatchObject({ replaced: true, chunkCount: 1 });
    expect(h.metrics.ingested).toEqual({ created: 1, replaced: 1 });
  });

  it('assigns an id when none is given', async () => {
    const h = buildHarness();
    const { documentId } = await h.ingest.execute({ ...base, id: '' });
    expect(documentId).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.repository.documents.has(documentId)).toBe(true);
  });

  it('defaults an empty format to text and an empty published_at to none', async () => {
    const h = buildHarness();
    await h.ingest.execute({ ...base, format: '', publishedAt: '' });
    expect(h.repository.documents.get('doc-1')).toMatchObject({ format: 'text', publishedAt: null });
  });

  it('rejects bad input with INVALID_ARGUMENT naming the field, and stores nothing', async () => {
    const h = buildHarness();
    await expectInvalid(h.ingest.execute({ ...base, content: '' }), 'content', /must not be empty/);
    await expectInvalid(h.ingest.execute({ ...base, content: '  \n ' }), 'content', /must not be empty/);
    await expectInvalid(h.ingest.execute({ ...base, content: 'a'.repeat(MAX_CONTENT_BYTES + 1) }), 'content', /1 MiB/);
    // 1 MiB is counted in UTF-8 bytes: Hangul takes three each.
    await expectInvalid(h.ingest.execute({ ...base, content: '가'.repeat(MAX_CONTENT_BYTES / 3 + 1) }), 'content');
    await expectInvalid(h.ingest.execute({ ...base, format: 'pdf' }), 'format', /markdown, text/);
    await expectInvalid(h.ingest.execute({ ...base, title: 't'.repeat(501) }), 'title', /500/);
    await expectInvalid(h.ingest.execute({ ...base, publishedAt: 'yesterday' }), 'published_at', /ISO-8601/);
    await expectInvalid(h.ingest.execute({ ...base, publishedAt: '2024-13-45' }), 'published_at');
    await expectInvalid(h.ingest.execute({ ...base, id: 'has space' }), 'id');
    await expectInvalid(h.ingest.execute({ ...base, id: 'a#b' }), 'id');
    await expectInvalid(h.ingest.execute({ ...base, id: 'x'.repeat(129) }), 'id');
    const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    await expectInvalid(h.ingest.execute({ ...base, metadata: tooMany }), 'metadata', /64/);
    expect(h.repository.documents.size).toBe(0);
    expect(h.events.published).toEqual([]);
  });

  it('accepts the edges of the limits', async () => {
    const h = buildHarness({ maxTokens: 4096 });
    await h.ingest.execute({ ...base, id: 'A.b_c:d-1', title: 't'.repeat(500), publishedAt: '2024-03-01T09:30:00+09:00' });
    expect(h.repository.documents.get('A.b_c:d-1')?.publishedAt?.toISOString()).toBe('2024-03-01T00:30:00.000Z');
  });

  it('leaves the index and the event stream untouched when the transaction fails', async () => {
    const h = buildHarness();
    h.repository.failNextWrite = new Error('connection reset');
    const err = await rejection(h.ingest.execute(base));
    expect((err as Error).message).toBe('connection reset');
    expect(toRpcException(err).getError()).toEqual({ code: status.INTERNAL, message: 'internal error' });
    expect(h.index.chunkCount).toBe(0);
    expect(h.events.published).toEqual([]);
  });

  it('reports UNAVAILABLE when the committed change cannot be announced, and a retry succeeds', async () => {
    const h = buildHarness();
    h.events.failWith = new Error('broker unreachable');
    const err = await rejection(h.ingest.execute(base));
    expect(err).toBeInstanceOf(UnavailableError);
    expect((toRpcException(err).getError() as { code: number }).code).toBe(status.UNAVAILABLE);
    expect(h.metrics.publishFailures).toEqual(['document.ingested']);

    h.events.failWith = undefined;
    expect(await h.ingest.execute(base)).toMatchObject({ replaced: true, chunkCount: 2 });
    expect(h.repository.chunksOf('doc-1')).toHaveLength(2);
  });
});

describe('DeleteDocumentUseCase', () => {
  it('deletes the document and its chunks, drops them from the index and announces it', async () => {
    const h = buildHarness();
    await h.ingest.execute(base);
    expect(await h.remove.execute({ id: 'doc-1' })).toEqual({ documentId: 'doc-1', deleted: true });
    expect(h.repository.documents.size).toBe(0);
    expect(h.repository.chunks.size).toBe(0);
    expect(h.index.chunkCount).toBe(0);
    expect(h.events.published.at(-1)).toEqual({ type: 'document.deleted', payload: { documentId: 'doc-1' } });
    expect(h.metrics.size).toEqual({ documents: 0, chunks: 0 });
  });

  it('is NOT_FOUND for an unknown id and INVALID_ARGUMENT for an empty one', async () => {
    const h = buildHarness();
    const err = await rejection(h.remove.execute({ id: 'missing' }));
    expect(err).toBeInstanceOf(NotFoundError);
    expect((toRpcException(err).getError() as { code: number }).code).toBe(status.NOT_FOUND);
    await expectInvalid(h.remove.execute({ id: '' }), 'id', /must not be empty/);
    expect(h.events.published).toEqual([]);
  });
});

describe('GetChunkUseCase', () => {
  it('returns the chunk with its document title and metadata', async () => {
    const h = buildHarness();
    await h.ingest.execute(base);
    const chunk = await h.getChunk.execute({ chunkId: 'doc-1#0' });
    expect(chunk).toMatchObject({ chunkId: 'doc-1#0', documentId: 'doc-1', title: base.title, chunkIndex: 0 });
    expect(chunk.text).toContain('15일');
    expect(chunk.metadata).toMatchObject({ team: 'hr', collection: 'policies', heading: '연차' });
  });

  it('is NOT_FOUND for an unknown chunk and INVALID_ARGUMENT for an empty id', async () => {
    const h = buildHarness();
    const err = await rejection(h.getChunk.execute({ chunkId: 'doc-1#9' }));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(toRpcException(err)).toBeInstanceOf(RpcException);
    expect((toRpcException(err).getError() as { code: number; message: string }).message).toBe('chunk doc-1#9 not found');
    await expectInvalid(h.getChunk.execute({ chunkId: '' }), 'chunk_id');
  });
});
