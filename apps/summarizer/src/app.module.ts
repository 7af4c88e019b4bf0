import { DynamicModule, Module } from '@nestjs/common';
import { ObservabilityModule } from '@ragmesh/observability';
import { APP_CONFIG, type AppConfig, SERVICE_NAME } from './config';
import { GrpcClientsModule } from './grpc/grpc-clients.module';
import { MessagingModule } from './messaging/messaging.module';
import { DatabaseModule } from './persistence/database.module';
import { SummariesModule } from './summaries/summaries.module';

@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({ service: SERVICE_NAME, level: config.LOG_LEVEL }),
        DatabaseModule.register(config),
        MessagingModule.register(config),
        GrpcClientsModule.register(config),
        SummariesModule.register(config),
      ],
      providers: [{ provide: APP_CONFIG, useValue: config }],
    };
  }
}
