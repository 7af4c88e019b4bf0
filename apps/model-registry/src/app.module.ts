import { DynamicModule, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { MessagingModule } from '@ragmesh/messaging';
import { GrpcCorrelationInterceptor, ObservabilityModule } from '@ragmesh/observability';
import { SERVICE_NAME } from './config';
import { RegistryModule, RegistryModuleOptions } from './registry.module';

@Module({})
export class AppModule {
  static register(opts: RegistryModuleOptions & { logLevel: string; amqpUrl: string }): DynamicModule {
    const { logLevel, amqpUrl, ...registry } = opts;
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({ service: SERVICE_NAME, level: logLevel }),
        MessagingModule.forRoot({ url: amqpUrl, service: SERVICE_NAME, logLevel }),
        RegistryModule.register(registry),
      ],
      providers: [{ provide: APP_INTERCEPTOR, useClass: GrpcCorrelationInterceptor }],
    };
  }
}
