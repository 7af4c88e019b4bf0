import { DynamicModule, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { GrpcCorrelationInterceptor, ObservabilityModule } from '@ragmesh/observability';
import { SERVICE_NAME } from './config';
import { UpstreamsModule, UpstreamsModuleOptions } from './upstreams/upstreams.module';

@Module({})
export class AppModule {
  static register(opts: UpstreamsModuleOptions & { logLevel: string }): DynamicModule {
    const { logLevel, ...upstreams } = opts;
    return {
      module: AppModule,
      imports: [ObservabilityModule.forRoot({ service: SERVICE_NAME, level: logLevel }), UpstreamsModule.register(upstreams)],
      providers: [{ provide: APP_INTERCEPTOR, useClass: GrpcCorrelationInterceptor }],
    };
  }
}
