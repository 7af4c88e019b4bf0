import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { type Messaging, MESSAGING } from '@ragmesh/messaging';
import { CORRELATION_HEADER, healthRouter, httpCorrelationMiddleware } from '@ragmesh/observability';
import { DATA_SOURCE } from '@ragmesh/persistence';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import type { Server } from 'node:http';
import { Logger } from 'nestjs-pino';
import type { DataSource } from 'typeorm';
import { AppModule } from './app.module';
import type { AppConfig } from './config';
import { readinessChecks } from './health/health';
import { bodyParserErrorTranslator, jsonBody } from './http/body-parsing';
import { GlobalExceptionFilter } from './http/exception.filter';
import { InFlightRequests } from './http/in-flight';
import { GatewayMetrics } from './http/metrics';
import { requestTimeout } from './http/request-timeout';

/** Echoes the correlation id as X-Request-Id too: the name most HTTP clients and proxies look for. */
function requestIdHeader(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('X-Request-Id', String(req.headers[CORRELATION_HEADER] ?? ''));
  next();
}

export const corsOrigins = (config: Pick<AppConfig, 'CORS_ORIGINS'>): string[] =>
  config.CORS_ORIGINS.split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');

/** The gateway's HTTP app, not yet listening; main.ts and the integration tests share it. */
export async function createGatewayApp(config: AppConfig): Promise<NestExpressApplication> {
  // Nest's own body parser is off: ours has the configured limits and its errors become 400/413 envelopes.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config), { bodyParser: false, bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  app.use(httpCorrelationMiddleware);
  app.use(requestIdHeader);
  app.use(helmet());
  // Browsers may call only from the configured origins; an empty list sends no CORS headers at all.
  const origins = corsOrigins(config);
  app.enableCors({ origin: origins.length > 0 ? origins : false, exposedHeaders: ['X-Request-Id', 'X-Correlation-Id', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After', 'X-Session-Id'] });
  app.use(healthRouter(readinessChecks(app.get<DataSource>(DATA_SOURCE), app.get<Messaging>(MESSAGING), app.get(InFlightRequests).readiness)));
  app.use(app.get(GatewayMetrics).httpMiddleware());
  app.use(app.get(InFlightRequests).middleware);
  // Documents carry whole texts; every other route gets the small default. The first parser to run wins.
  app.use('/v1/documents', jsonBody(config.DOCUMENTS_BODY_LIMIT));
  app.use(jsonBody(config.BODY_LIMIT));
  app.use(bodyParserErrorTranslator);
  app.use(requestTimeout(config.REQUEST_TIMEOUT_MS));
  app.useGlobalFilters(new GlobalExceptionFilter());
  return app;
}

/**
 * SIGTERM: `/health/ready` answers 503 at once and the listener stays open `readyDelayMs` more
 * (for load balancers to notice), then stop accepting connections, end every open stream with an
 * `error` event saying the server is going away, give the other requests `graceMs` to finish, cut
 * what is left, then close the Nest app (the broker connection drains, then the database closes).
 */
export async function shutdownGateway(app: NestExpressApplication, graceMs: number, readyDelayMs = 0): Promise<void> {
  const server = app.getHttpServer() as Server;
  const inFlight = app.get(InFlightRequests);
  inFlight.beginDrain();
  if (readyDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, readyDelayMs));
  server.close();
  await inFlight.drain(graceMs);
  server.closeAllConnections();
  await app.close();
}
