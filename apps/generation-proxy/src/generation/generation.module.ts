import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../config';
import { createEngineRouter, createUpstreamPool, ENGINE_ROUTER, EngineRouter } from '../engines/engine-router';
import { registryFeedProvider } from '../engines/registry-feed';
import type { UpstreamPool } from '../engines/upstream-pool';
import { AdmissionController } from './admission-control';
import { GenerationController } from './generation.controller';
import { GenerationMetrics } from './generation.metrics';
import { ADMISSION_CONTROLLER, GenerationUseCase } from './generation.use-case';

/**
 * The upstream pool (always present, empty without upstreams). Inject it to change the member
 * list at runtime: `pool.replaceUpstreams(specs)` (the registry watch does).
 */
export const UPSTREAM_POOL = Symbol('UPSTREAM_POOL');

export interface GenerationModuleOptions {
  config: AppConfig;
  /** Replaces the engines built from the config (tests). */
  router?: EngineRouter;
}

@Module({})
export class GenerationModule {
  static register(opts: GenerationModuleOptions): DynamicModule {
    return {
      module: GenerationModule,
      controllers: [GenerationController],
      providers: [
        GenerationMetrics,
        GenerationUseCase,
        registryFeedProvider(UPSTREAM_POOL),
        {
          provide: UPSTREAM_POOL,
          inject: [GenerationMetrics],
          useFactory: (metrics: GenerationMetrics) => createUpstreamPool(opts.config, metrics),
        },
        {
          provide: ENGINE_ROUTER,
          inject: [UPSTREAM_POOL],
          useFactory: (pool: UpstreamPool) => opts.router ?? createEngineRouter(opts.config, pool),
        },
        {
          provide: ADMISSION_CONTROLLER,
          inject: [GenerationMetrics],
          useFactory: (metrics: GenerationMetrics) =>
            new AdmissionController(opts.config.GENERATION_MAX_CONCURRENCY, opts.config.GENERATION_MAX_QUEUE, (s) =>
              metrics.admission(s),
            ),
        },
      ],
      exports: [UPSTREAM_POOL],
    };
  }
}
