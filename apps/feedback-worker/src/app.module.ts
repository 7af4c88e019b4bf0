import { DynamicModule, Module } from '@nestjs/common';
import { GrpcClientsModule } from '@ragmesh/contracts';
import { MessagingModule } from '@ragmesh/messaging';
import { ObservabilityModule } from '@ragmesh/observability';
import { DatabaseModule } from '@ragmesh/persistence';
import { APP_CONFIG, type AppConfig, SERVICE_NAME } from './config';
import { FeedbackModule } from './feedback/feedback.module';
import { dataSourceOptions } from './persistence/data-source';

@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({ service: SERVICE_NAME, level: config.LOG_LEVEL }),
        DatabaseModule.forRoot(dataSourceOptions(config)),
        MessagingModule.forRoot({ url: config.AMQP_URL, service: SERVICE_NAME, logLevel: config.LOG_LEVEL }),
        GrpcClientsModule.forRoot({ generation: config.GENERATION_GRPC_URL }),
        FeedbackModule.register(config),
      ],
      providers: [{ provide: APP_CONFIG, useValue: config }],
    };
  }
}
