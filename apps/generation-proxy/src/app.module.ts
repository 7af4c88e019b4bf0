import { DynamicModule, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { GrpcCorrelationInterceptor, ObservabilityModule } from '@ragmesh/observability';
import { SERVICE_NAME } from './config';
import { GenerationModule, GenerationModuleOptions } from './generation/generation.module';

@Module({})
export class AppModule {
  static register(opts: GenerationModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({ service: SERVICE_NAME, level: opts.config.LOG_LEVEL }),
        GenerationModule.register(opts),
      ],
      providers: [{ provide: APP_INTERCEPTOR, useClass: GrpcCorrelationInterceptor }],
    };
  }
}
