import { Injectable } from '@nestjs/common';
import { MetricsService } from '@ragmesh/observability';

// Search is in-memory: most calls finish in milliseconds; the top buckets catch a large index.
const SEARCH_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The steps of one search, timed apart so an operator sees which one grew. */
export const SEARCH_STAGES = ['embed', 'filter', 'bm25', 'dense', 'fusion'] as const;
export type SearchStage = (typeof SEARCH_STAGES)[number];
export type StageSeconds = Record<SearchStage, number>;

/** What the use-cases report; an abstract class so tests can pass a recording fake. */
export abstract class RetrievalMetrics {
  abstract documentIngested(replaced: boolean): void;
  abstract documentDeleted(): void;
  abstract indexSize(documents: number, chunks: number): void;
  abstract searchCompleted(seconds: number, stages: StageSeconds): void;
  abstract eventPublishFailed(type: string): void;
  abstract queryEmbeddingFailed(): void;
  abstract chunksReembedded(count: number): void;
}

@Injectable()
export class PrometheusRetrievalMetrics extends RetrievalMetrics {
  private readonly ingested;
  private readonly deleted;
  private readonly chunks;
  private readonly documents;
  private readonly searchLatency;
  private readonly stageLatency;
  private readonly publishFailures;
  private readonly queryEmbeddingFailures;
  private readonly reembedded;

  constructor(metrics: MetricsService) {
    super();
    this.ingested = metrics.counter('ragmesh_retrieval_documents_ingested_total', 'Documents ingested, by created or replaced', ['result']);
    this.deleted = metrics.counter('ragmesh_retrieval_documents_deleted_total', 'Documents deleted');
    this.chunks = metrics.gauge('ragmesh_retrieval_index_chunks', 'Chunks in the in-memory search index');
    this.documents = metrics.gauge('ragmesh_retrieval_index_documents', 'Documents in the in-memory search index');
    this.searchLatency = metrics.histogram(
      'ragmesh_retrieval_search_duration_seconds',
      'Hybrid search latency inside the service',
      [],
      SEARCH_LATENCY_BUCKETS,
    );
    this.stageLatency = metrics.histogram(
      'ragmesh_retrieval_stage_duration_seconds',
      'Hybrid search latency by stage (embed, filter, bm25, dense, fusion)',
      ['stage'],
      SEARCH_LATENCY_BUCKETS,
    );
    this.publishFailures = metrics.counter(
      'ragmesh_retrieval_event_publish_failures_total',
      'document.* events that could not be published after the change was committed',
      ['type'],
    );
    this.queryEmbeddingFailures = metrics.counter(
      'ragmesh_retrieval_query_embedding_failures_total',
      'Searches answered by BM25 alone because the query could not be embedded',
    );
    this.reembedded = metrics.counter(
      'ragmesh_retrieval_reembedded_chunks_total',
      'Chunks given a vector by the newly configured embedding model in the background',
    );
  }

  documentIngested(replaced: boolean): void {
    this.ingested.inc({ result: replaced ? 'replaced' : 'created' });
  }

  documentDeleted(): void {
    this.deleted.inc();
  }

  indexSize(documents: number, chunks: number): void {
    this.documents.set(documents);
    this.chunks.set(chunks);
  }

  searchCompleted(seconds: number, stages: StageSeconds): void {
    this.searchLatency.observe(seconds);
    for (const stage of SEARCH_STAGES) this.stageLatency.observe({ stage }, stages[stage]);
  }

  eventPublishFailed(type: string): void {
    this.publishFailures.inc({ type });
  }

  queryEmbeddingFailed(): void {
    this.queryEmbeddingFailures.inc();
  }

  chunksReembedded(count: number): void {
    this.reembedded.inc(count);
  }
}
