import { Injectable } from '@nestjs/common';
import { MetricsService } from '@ragmesh/observability';
import type { NextFunction, Request, Response } from 'express';
import type { Counter, Histogram } from 'prom-client';

/** Time to first token spans retrieval and the upstream's queue, so the buckets reach well past a second. */
const TTFT_BUCKETS_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
const HTTP_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export type ChatOutcome = 'ok' | 'error' | 'cancelled';

@Injectable()
export class GatewayMetrics {
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly chatRequests: Counter<'stream' | 'rag' | 'outcome'>;
  readonly ttft: Histogram<'stream'>;

  constructor(metrics: MetricsService) {
    this.httpDuration = metrics.histogram(
      'ragmesh_gateway_http_request_duration_seconds',
      'HTTP requests by route and status',
      ['method', 'route', 'status'],
      HTTP_BUCKETS_SECONDS,
    ) as Histogram<'method' | 'route' | 'status'>;
    this.chatRequests = metrics.counter('ragmesh_gateway_chat_requests_total', 'Chat completion requests by outcome', [
      'stream',
      'rag',
      'outcome',
    ]) as Counter<'stream' | 'rag' | 'outcome'>;
    this.ttft = metrics.histogram(
      'ragmesh_gateway_chat_ttft_seconds',
      'Time from request to the first generated token',
      ['stream'],
      TTFT_BUCKETS_SECONDS,
    ) as Histogram<'stream'>;
  }

  chat(stream: boolean, rag: boolean, outcome: ChatOutcome): void {
    this.chatRequests.inc({ stream: String(stream), rag: String(rag), outcome });
  }

  /** Express middleware; the route label is the matched pattern (bounded cardinality), never the raw path. */
  httpMiddleware(): (req: Request, res: Response, next: NextFunction) => void {
    return (req, res, next) => {
      const end = this.httpDuration.startTimer();
      res.on('finish', () => {
        const route = (req.route as { path?: string } | undefined)?.path;
        end({ method: req.method, route: route ? `${req.baseUrl}${route}` : 'unmatched', status: String(res.statusCode) });
      });
      next();
    };
  }
}
