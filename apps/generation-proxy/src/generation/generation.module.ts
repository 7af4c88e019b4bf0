import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../config';
import { createEngineRouter, ENGINE_ROUTER, EngineRouter } from '../engines/engine-router';
import { AdmissionController } from './admission-control';
import { GenerationController } from './generation.controller';
import { GenerationMetrics } from './generation.metrics';
import { ADMISSION_CONTROLLER, GenerationUseCase } from './generation.use-case';

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
        {
          provide: ENGINE_ROUTER,
          inject: [GenerationMetrics],
          useFactory: (metrics: GenerationMetrics) => opts.router ?? createEngineRouter(opts.config, metrics),
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
    };
  }
}
