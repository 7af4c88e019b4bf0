import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { type Messaging, MESSAGING } from '@ragmesh/messaging';
import { healthRouter, httpCorrelationMiddleware } from '@ragmesh/observability';
import { DATA_SOURCE } from '@ragmesh/persistence';
import { json } from 'express';
import { Logger } from 'nestjs-pino';
import type { DataSource } from 'typeorm';
import { AppModule } from './app.module';
import type { AppConfig } from './config';
import { readinessChecks } from './health/health';
import { bodyParserErrorTranslator } from './http/body-parsing';
import { GlobalExceptionFilter } from './http/exception.filter';
import { GatewayMetrics } from './http/metrics';

/** The gateway's HTTP app, not yet listening; main.ts and the integration tests share it. */
export async function createGatewayApp(config: AppConfig): Promise<NestExpressApplication> {
  // Nest's own body parser is off: ours has the configured limit and its errors become 400/413 envelopes.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config), { bodyParser: false, bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  app.use(httpCorrelationMiddleware);
  app.use(healthRouter(readinessChecks(app.get<DataSource>(DATA_SOURCE), app.get<Messaging>(MESSAGING))));
  app.use(app.get(GatewayMetrics).httpMiddleware());
  app.use(json({ limit: config.BODY_LIMIT }));
  app.use(bodyParserErrorTranslator);
  app.useGlobalFilters(new GlobalExceptionFilter());
  return app;
}
