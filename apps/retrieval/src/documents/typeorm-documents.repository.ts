import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { ChunkEntity } from '../persistence/chunk.entity';
import { DocumentEntity } from '../persistence/document.entity';
import type { ChunkRecord, ChunkWithDocument, DocumentRecord, DocumentSummary } from './document.model';
import { DocumentsRepository } from './documents.repository';

// 8 columns per chunk: batches stay far below PostgreSQL's 65535 bind parameters.
const CHUNK_INSERT_BATCH = 500;

interface ChunkRow {
  id: string;
  document_id: string;
  chunk_index: number;
  text: string;
  heading: string | null;
  embedding: number[];
  title: string;
  collection: string;
  published_at: Date | null;
  metadata: Record<string, string> | null;
}

const CHUNK_SELECT = `
  SELECT c.id, c.document_id, c.chunk_index, c.text, c.heading, c.embedding,
         d.title, d.collection, d.published_at, d.metadata
    FROM retrieval.chunks c
    JOIN retrieval.documents d ON d.id = c.document_id`;

interface DocumentSummaryRow {
  id: string;
  title: string;
  collection: string;
  metadata: Record<string, string> | null;
  published_at: Date | null;
  updated_at: Date;
  chunk_count: number;
}

function toChunkWithDocument(row: ChunkRow): ChunkWithDocument {
  return {
    chunkId: row.id,
    documentId: row.document_id,
    chunkIndex: row.chunk_index,
    text: row.text,
    heading: row.heading,
    embedding: row.embedding,
    title: row.title,
    collection: row.collection,
    publishedAt: row.published_at,
    documentMetadata: row.metadata ?? {},
  };
}

@Injectable()
export class TypeOrmDocumentsRepository extends DocumentsRepository {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  async replaceDocument(document: DocumentRecord, chunks: ChunkRecord[]): Promise<{ replaced: boolean }> {
    return this.dataSource.transaction((manager) => this.replaceIn(manager, document, chunks));
  }

  async replaceDocuments(batch: { document: DocumentRecord; chunks: ChunkRecord[] }[]): Promise<{ replaced: boolean }[]> {
    return this.dataSource.transaction(async (manager) => {
      const outcomes: { replaced: boolean }[] = [];
      for (const { document, chunks } of batch) outcomes.push(await this.replaceIn(manager, document, chunks));
      return outcomes;
    });
  }

  async listDocuments(afterId: string | null, limit: number, collection: string): Promise<DocumentSummary[]> {
    const rows: DocumentSummaryRow[] = await this.dataSource.query(
      `SELECT d.id, d.title, d.collection, d.metadata, d.published_at, d.updated_at,
              (SELECT count(*)::int FROM retrieval.chunks c WHERE c.document_id = d.id) AS chunk_count
         FROM retrieval.documents d
        WHERE ($1::text IS NULL OR d.id > $1) AND ($2 = '' OR d.collection = $2)
        ORDER BY d.id
        LIMIT $3`,
      [afterId, collection, limit],
    );
    return rows.map((row) => ({
      id: row.id,
      title: row.title,
      collection: row.collection,
      metadata: row.metadata ?? {},
      publishedAt: row.published_at,
      updatedAt: row.updated_at,
      chunkCount: row.chunk_count,
    }));
  }

  private async replaceIn(manager: EntityManager, document: DocumentRecord, chunks: ChunkRecord[]): Promise<{ replaced: boolean }> {
    // The upsert comes first: its row lock serialises concurrent ingests of the same id, so
    // the chunk delete below sees the other transaction's committed chunks. xmax = 0 ⇔ inserted.
    const rows: { inserted: boolean }[] = await manager.query(
      `INSERT INTO retrieval.documents (id, title, format, content, collection, metadata, published_at, content_hash)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)
       ON CONFLICT (id) DO UPDATE SET
         title = EXCLUDED.title, format = EXCLUDED.format, content = EXCLUDED.content,
         collection = EXCLUDED.collection, metadata = EXCLUDED.metadata,
         published_at = EXCLUDED.published_at, content_hash = EXCLUDED.content_hash,
         updated_at = now()
       RETURNING (xmax = 0) AS inserted`,
      [
        document.id,
        document.title,
        document.format,
        document.content,
        document.collection,
        JSON.stringify(document.metadata),
        document.publishedAt,
        document.contentHash,
      ],
    );
    await manager.query(`DELETE FROM retrieval.chunks WHERE document_id = $1`, [document.id]);
    for (let start = 0; start < chunks.length; start += CHUNK_INSERT_BATCH) {
      const batch = chunks.slice(start, start + CHUNK_INSERT_BATCH);
      await manager.createQueryBuilder().insert().into(ChunkEntity).values(batch).execute();
    }
    return { replaced: rows[0]?.inserted === false };
  }

  async deleteDocument(id: string): Promise<boolean> {
    const result = await this.dataSource.createQueryBuilder().delete().from(DocumentEntity).where('id = :id', { id }).execute();
    return (result.affected ?? 0) > 0;
  }

  async findChunk(chunkId: string): Promise<ChunkWithDocument | null> {
    const rows: ChunkRow[] = await this.dataSource.query(`${CHUNK_SELECT} WHERE c.id = $1`, [chunkId]);
    return rows.length > 0 ? toChunkWithDocument(rows[0]) : null;
  }

  async findDocumentChunks(documentId: string): Promise<ChunkWithDocument[]> {
    const rows: ChunkRow[] = await this.dataSource.query(`${CHUNK_SELECT} WHERE c.document_id = $1 ORDER BY c.chunk_index`, [
      documentId,
    ]);
    return rows.map(toChunkWithDocument);
  }

  async listChunks(afterChunkId: string | null, limit: number): Promise<ChunkWithDocument[]> {
    const rows: ChunkRow[] =
      afterChunkId === null
        ? await this.dataSource.query(`${CHUNK_SELECT} ORDER BY c.id LIMIT $1`, [limit])
        : await this.dataSource.query(`${CHUNK_SELECT} WHERE c.id > $1 ORDER BY c.id LIMIT $2`, [afterChunkId, limit]);
    return rows.map(toChunkWithDocument);
  }
}
