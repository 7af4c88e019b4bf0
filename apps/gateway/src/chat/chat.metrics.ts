import { Injectable } from '@nestjs/common';
import { MetricsService } from '@ragmesh/observability';
import type { Counter, Histogram } from 'prom-client';

/** A callback piece is one small POST to the caller's server; most answer in milliseconds. */
const CALLBACK_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** An LLM rewrite is a short completion: tens of milliseconds on a warm GPU, seconds when queued. */
const REWRITE_BUCKETS_SECONDS = [0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 5, 10];

export type RewriteSource = 'rules' | 'llm' | 'fallback';

/** Metrics of the chat features beyond the request counters in GatewayMetrics. */
@Injectable()
export class ChatMetrics {
  readonly rewrites: Counter<'source'>;
  readonly rewriteDuration: Histogram<'source'>;
  readonly promptDropped: Counter<'part'>;
  readonly resumes: Counter<'outcome'>;
  readonly callbackPieces: Counter<'outcome'>;
  readonly callbackDuration: Histogram;

  constructor(metrics: MetricsService) {
    this.rewrites = metrics.counter('ragmesh_gateway_query_rewrites_total', 'Query rewrites before retrieval by how the rewrite was made', ['source']) as Counter<'source'>;
    this.rewriteDuration = metrics.histogram(
      'ragmesh_gateway_query_rewrite_duration_seconds',
      'Time spent rewriting the query before retrieval',
      ['source'],
      REWRITE_BUCKETS_SECONDS,
    ) as Histogram<'source'>;
    this.promptDropped = metrics.counter(
      'ragmesh_gateway_prompt_dropped_total',
      'Memory messages and context chunks left out of prompts to respect the token budget',
      ['part'],
    ) as Counter<'part'>;
    this.resumes = metrics.counter('ragmesh_gateway_chat_stream_resumes_total', 'Resume requests of native chat streams by outcome', ['outcome']) as Counter<'outcome'>;
    this.callbackPieces = metrics.counter(
      'ragmesh_gateway_chat_callback_pieces_total',
      'Pieces of callback-streamed answers POSTed to response_url, by outcome',
      ['outcome'],
    ) as Counter<'outcome'>;
    this.callbackDuration = metrics.histogram(
      'ragmesh_gateway_chat_callback_post_duration_seconds',
      'Duration of one callback POST to a response_url, retries included',
      [],
      CALLBACK_BUCKETS_SECONDS,
    ) as Histogram;
  }
}
