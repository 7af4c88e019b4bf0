import { DynamicModule, Module } from '@nestjs/common';
import { ObservabilityModule } from '@ragmesh/observability';
import { ChatController } from './chat/chat.controller';
import { ChatUseCase } from './chat/chat.use-case';
import { APP_CONFIG, type AppConfig } from './config';
import { ConversationsController } from './conversations/conversations.controller';
import { ConversationsRepository, PgConversationsRepository } from './conversations/conversations.repository';
import { ConversationsUseCase } from './conversations/conversations.use-case';
import { SummariesConsumer } from './conversations/summaries.consumer';
import { DocumentsController } from './documents/documents.controller';
import { DocumentsUseCase } from './documents/documents.use-case';
import { GrpcClientsModule } from './grpc/grpc-clients.module';
import { OpenApiController } from './health/openapi.controller';
import { GatewayMetrics } from './http/metrics';
import { MessagingModule } from './messaging/messaging.module';
import { ModelsController } from './models/models.controller';
import { ModelsUseCase } from './models/models.use-case';
import { DatabaseModule } from './persistence/database.module';
import { SearchController } from './search/search.controller';
import { SearchUseCase } from './search/search.use-case';

@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({ service: 'gateway', level: config.LOG_LEVEL }),
        DatabaseModule.register(config),
        MessagingModule.register(config),
        GrpcClientsModule.register(config),
      ],
      controllers: [DocumentsController, SearchController, ChatController, ConversationsController, ModelsController, OpenApiController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: ConversationsRepository, useClass: PgConversationsRepository },
        GatewayMetrics,
        DocumentsUseCase,
        SearchUseCase,
        ChatUseCase,
        ConversationsUseCase,
        ModelsUseCase,
        SummariesConsumer,
      ],
    };
  }
}
