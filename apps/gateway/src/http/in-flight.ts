import { Injectable, Logger } from '@nestjs/common';
import type { HealthCheck } from '@ragmesh/observability';
import type { NextFunction, Request, Response } from 'express';

/** What an open stream is told when the gateway stops: a retryable 503 in the stream's own format. */
export const GOING_AWAY = { code: 'server_shutting_down', message: 'the server is going away; retry the request', status: 503 } as const;
const DRAIN_POLL_MS = 50;

const isEventStream = (res: Response): boolean => res.headersSent && String(res.getHeader('content-type') ?? '').startsWith('text/event-stream');

/** OpenAI clients read `data: {"error": …}`; the native stream has a named `error` event. */
function goingAwayFrame(req: Request): string {
  if (req.originalUrl.startsWith('/v1/chat/completions')) {
    return `data: ${JSON.stringify({ error: { message: GOING_AWAY.message, type: GOING_AWAY.code, code: GOING_AWAY.status } })}\n\n`;
  }
  return `event: error\ndata: ${JSON.stringify(GOING_AWAY)}\n\n`;
}

/**
 * The requests this gateway is answering. On shutdown every open event stream gets a final
 * `error` event saying the server is going away (streams that open during the drain too), and
 * the drain waits for the rest to finish.
 */
@Injectable()
export class InFlightRequests {
  private readonly logger = new Logger('shutdown');
  private readonly open = new Map<Response, Request>();
  private told = 0;
  private draining = false;

  /** `/health/ready` fails from SIGTERM on, so load balancers stop routing here before the listener closes. */
  readonly readiness: HealthCheck = async () => {
    if (this.draining) throw new Error('draining: the gateway is shutting down');
  };

  beginDrain(): void {
    this.draining = true;
  }

  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    this.open.set(res, req);
    res.once('close', () => this.open.delete(res));
    next();
  };

  get size(): number {
    return this.open.size;
  }

  /** Ends every started event stream with the going-away event; returns how many were told. */
  tellStreams(): number {
    let told = 0;
    for (const [res, req] of this.open) {
      if (!isEventStream(res) || res.writableEnded) continue;
      res.write(goingAwayFrame(req));
      res.end();
      told++;
    }
    this.told += told;
    return told;
  }

  /** Tells streams and waits until nothing is in flight or `graceMs` passed; true when everything finished. */
  async drain(graceMs: number): Promise<boolean> {
    const deadline = Date.now() + graceMs;
    this.beginDrain();
    this.tellStreams();
    while (this.open.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
      this.tellStreams();
    }
    this.logger.log({ streamsTold: this.told, unfinished: this.open.size }, 'drained in-flight requests');
    return this.open.size === 0;
  }
}
