import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { DocumentEntity } from './document.entity';

@Entity({ name: 'chunks' })
@Index('chunks_document_id_chunk_index_key', ['documentId', 'chunkIndex'], { unique: true })
export class ChunkEntity {
  /** `${documentId}#${chunkIndex}`: stable across re-ingests, so references stay readable. */
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ name: 'document_id', type: 'text' })
  documentId!: string;

  @ManyToOne('DocumentEntity', (document: DocumentEntity) => document.chunks, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'document_id' })
  document?: DocumentEntity;

  @Column({ name: 'chunk_index', type: 'int' })
  chunkIndex!: number;

  @Column({ type: 'text' })
  text!: string;

  @Column({ type: 'text', nullable: true })
  heading!: string | null;

  @Column({ name: 'token_count', type: 'int' })
  tokenCount!: number;

  @Column({ type: 'real', array: true })
  embedding!: number[];

  /** The model that made `embedding` (queries are embedded by the same one). */
  @Column({ name: 'embedding_model', type: 'text' })
  embeddingModel!: string;

  /** While the configured model changes: the vector by the next model, made in the background. */
  @Column({ name: 'next_embedding', type: 'real', array: true, nullable: true })
  nextEmbedding!: number[] | null;

  @Column({ name: 'next_embedding_model', type: 'text', nullable: true })
  nextEmbeddingModel!: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  metadata!: Record<string, string>;
}
