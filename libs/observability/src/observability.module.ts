import { DynamicModule, Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { CORRELATION_HEADER } from './correlation';
import { OPS_PATHS } from './health';
import { httpCorrelationMiddleware, resolveRequestCorrelationId } from './http-correlation';
import { createLogger, DEFAULT_LOG_LEVEL } from './logger';
import { MetricsService } from './metrics';

export interface ObservabilityOptions {
  service: string;
  level?: string;
}

// Probes and scrapes arrive every few seconds; logging each would drown the useful lines.
const QUIET_PATHS = new Set<string>(Object.values(OPS_PATHS));

function isQuietRequest(req: IncomingMessage): boolean {
  return QUIET_PATHS.has(new URL(req.url ?? '/', 'http://localhost').pathname);
}

/**
 * Global: nestjs-pino's Logger (use app.useLogger(app.get(Logger))) writing JSON lines with
 * service and correlationId, request logging keyed by x-correlation-id, and MetricsService.
 * For HTTP apps it also runs every request inside its correlation id.
 */
@Global()
@Module({})
export class ObservabilityModule implements NestModule {
  static forRoot(opts: ObservabilityOptions): DynamicModule {
    const logger = createLogger(opts.service, opts.level ?? DEFAULT_LOG_LEVEL);
    return {
      module: ObservabilityModule,
      global: true,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            logger,
            // Same id as httpCorrelationMiddleware: whichever runs first decides, the other reads it.
            genReqId: (req: IncomingMessage, res: ServerResponse) => {
              const id = resolveRequestCorrelationId(req);
              if (!res.headersSent) res.setHeader(CORRELATION_HEADER, id);
              return id;
            },
            autoLogging: { ignore: isQuietRequest },
          },
        }),
      ],
      providers: [{ provide: MetricsService, useFactory: () => new MetricsService(opts.service) }],
      exports: [MetricsService, LoggerModule],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(httpCorrelationMiddleware).forRoutes('*');
  }
}
