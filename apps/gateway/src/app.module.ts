import { DynamicModule, Module } from '@nestjs/common';
import { GrpcClientsModule } from '@ragmesh/contracts';
import { MessagingModule } from '@ragmesh/messaging';
import { ObservabilityModule } from '@ragmesh/observability';
import { DatabaseModule } from '@ragmesh/persistence';
import { AdminModule } from './admin/admin.module';
import { AuthModule } from './auth/auth.module';
import { ChatController } from './chat/chat.controller';
import { ChatUseCase } from './chat/chat.use-case';
import { CHAT_PROVIDERS } from './chat/chat.providers';
import { APP_CONFIG, type AppConfig } from './config';
import { ConversationsController } from './conversations/conversations.controller';
import { ConversationsRepository, PgConversationsRepository } from './conversations/conversations.repository';
import { ConversationsUseCase } from './conversations/conversations.use-case';
import { SummariesConsumer } from './conversations/summaries.consumer';
import { DocumentsController } from './documents/documents.controller';
import { DocumentOwnersRepository } from './documents/document-owners.repository';
import { DocumentsUseCase } from './documents/documents.use-case';
import { FeedbackStatusConsumer } from './feedback/feedback-status.consumer';
import { FeedbackController } from './feedback/feedback.controller';
import { FeedbackRepository, PgFeedbackRepository } from './feedback/feedback.repository';
import { FeedbackUseCase } from './feedback/feedback.use-case';
import { GenerationRepository, GrpcGenerationRepository } from './grpc/generation.repository';
import { GrpcRetrievalRepository, RetrievalRepository } from './grpc/retrieval.repository';
import { OpenApiController } from './health/openapi.controller';
import { InFlightRequests } from './http/in-flight';
import { GatewayMetrics } from './http/metrics';
import { AmqpEventsRepository, EventsRepository } from './messaging/events.repository';
import { ModelsController } from './models/models.controller';
import { ModelsUseCase } from './models/models.use-case';
import { OutboxRelay } from './outbox/outbox.relay';
import { RatingsModule } from './ratings/ratings.module';
import { dataSourceOptions } from './persistence/data-source';
import { SearchController } from './search/search.controller';
import { SearchUseCase } from './search/search.use-case';

@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({ service: 'gateway', level: config.LOG_LEVEL }),
        DatabaseModule.forRoot(dataSourceOptions(config)),
        // Closed after the HTTP server has finished its requests: a finishing chat still publishes its turn.
        MessagingModule.forRoot({ url: config.AMQP_URL, service: 'gateway', logLevel: config.LOG_LEVEL, closeOn: 'onApplicationShutdown' }),
        GrpcClientsModule.forRoot({ retrieval: config.RETRIEVAL_GRPC_URL, generation: config.GENERATION_GRPC_URL }),
        AuthModule.register(config),
        AdminModule,
        RatingsModule,
      ],
      controllers: [DocumentsController, SearchController, ChatController, ConversationsController, ModelsController, FeedbackController, OpenApiController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: ConversationsRepository, useClass: PgConversationsRepository },
        { provide: RetrievalRepository, useClass: GrpcRetrievalRepository },
        { provide: GenerationRepository, useClass: GrpcGenerationRepository },
        { provide: EventsRepository, useClass: AmqpEventsRepository },
        GatewayMetrics,
        InFlightRequests,
        DocumentOwnersRepository,
        DocumentsUseCase,
        SearchUseCase,
        ChatUseCase,
        ...CHAT_PROVIDERS,
        ConversationsUseCase,
        ModelsUseCase,
        SummariesConsumer,
        { provide: FeedbackRepository, useClass: PgFeedbackRepository },
        FeedbackUseCase,
        FeedbackStatusConsumer,
        OutboxRelay,
      ],
    };
  }
}
