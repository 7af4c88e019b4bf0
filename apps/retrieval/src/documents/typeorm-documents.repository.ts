import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { ChunkEntity } from '../persistence/chunk.entity';
import { DocumentEntity } from '../persistence/document.entity';
import type { ChunkRecord, ChunkWithDocument, DocumentRecord, DocumentSummary } from './document.model';
import { DocumentsRepository, type EmbeddingModelCount, type NextEmbedding } from './documents.repository';

// 11 columns per chunk: batches stay far below PostgreSQL's 65535 bind parameters.
const CHUNK_INSERT_BATCH = 500;

interface ChunkRow {
  id: string;
  document_id: string;
  chunk_index: number;
  text: string;
  heading: string | null;
  embedding: number[];
  embedding_model: string;
  next_embedding: number[] | null;
  next_embedding_model: string | null;
  title: string;
  collection: string;
  published_at: Date | null;
  metadata: Record<string, string> | null;
}

const CHUNK_SELECT = `
  SELECT c.id, c.document_id, c.chunk_index, c.text, c.heading, c.embedding,
         c.embedding_model, c.next_embedding, c.next_embedding_model, d.title, d.collection, d.published_at, d.metadata
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
    embeddingModel: row.embedding_model,
    nextEmbedding: row.next_embedding,
    nextEmbeddingModel: row.next_embedding_model,
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

  async embeddingModelCounts(): Promise<EmbeddingModelCount[]> {
    const rows: { model: string; chunks: number }[] = await this.dataSource.query(
      `SELECT embedding_model AS model, count(*)::int AS chunks FROM retrieval.chunks GROUP BY 1 ORDER BY 2 DESC, 1`,
    );
    return rows;
  }

  async listChunksToReembed(model: string, afterChunkId: string | null, limit: number): Promise<ChunkWithDocument[]> {
    const rows: ChunkRow[] = await this.dataSource.query(
      `${CHUNK_SELECT}
        WHERE c.embedding_model <> $1 AND c.next_embedding_model IS DISTINCT FROM $1 AND ($2::text IS NULL OR c.id > $2)
        ORDER BY c.id LIMIT $3`,
      [model, afterChunkId, limit],
    );
    return rows.map(toChunkWithDocument);
  }

  async storeNextEmbeddings(model: string, vectors: NextEmbedding[]): Promise<string[]> {
    if (vectors.length === 0) return [];
    // Only where the chunk still reads as it did when embedded: a concurrent re-ingest wrote its own.
    const rows: { id: string }[] = await this.dataSource.query(
      `UPDATE retrieval.chunks c
          SET next_embedding = v.embedding, next_embedding_model = $1
         FROM jsonb_to_recordset($2::jsonb) AS v(id text, text text, title text, embedding real[]), retrieval.documents d
        WHERE c.id = v.id AND c.text = v.text AND d.id = c.document_id AND d.title = v.title AND c.embedding_model <> $1
        RETURNING c.id`,
      [model, JSON.stringify(vectors.map((v) => ({ id: v.chunkId, text: v.text, title: v.title, embedding: v.vector })))],
    );
    return rows.map((row) => row.id);
  }

  async findChunks(chunkIds: string[]): Promise<ChunkWithDocument[]> {
    if (chunkIds.length === 0) return [];
    const rows: ChunkRow[] = await this.dataSource.query(`${CHUNK_SELECT} WHERE c.id = ANY($1::text[])`, [chunkIds]);
    return rows.map(toChunkWithDocument);
  }

  async promoteNextEmbeddings(model: string): Promise<number> {
    const rows: { id: string }[] = await this.dataSource.query(
      `UPDATE retrieval.chunks
          SET embedding = next_embedding, embedding_model = next_embedding_model, next_embedding = NULL, next_embedding_model = NULL
        WHERE next_embedding_model = $1 AND embedding_model <> $1
        RETURNING id`,
      [model],
    );
    return rows.length;
  }
}
