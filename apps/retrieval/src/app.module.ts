import { DynamicModule, Module } from '@nestjs/common';
import { Messaging } from '@ragmesh/messaging';
import { ObservabilityModule } from '@ragmesh/observability';
import { DataSource } from 'typeorm';
import { KeyedLock } from './common/keyed-lock';
import { PrometheusRetrievalMetrics, RetrievalMetrics } from './common/metrics';
import { CHUNKING_SETTINGS, chunkingSettingsFrom, SEARCH_SETTINGS, searchSettingsFrom } from './common/settings';
import type { AppConfig } from './config';
import { DeleteDocumentUseCase } from './documents/delete-document.use-case';
import { DocumentEvents } from './documents/document-events';
import { DocumentsRepository } from './documents/documents.repository';
import { GetChunkUseCase } from './documents/get-chunk.use-case';
import { IngestDocumentUseCase } from './documents/ingest-document.use-case';
import { IngestDocumentsUseCase } from './documents/ingest-documents.use-case';
import { ListDocumentsUseCase } from './documents/list-documents.use-case';
import { EmbeddingModels, embeddingModelsFrom } from './embedding/embedding-models';
import { Reembedder, REEMBED_RETRY_DELAY_MS, REEMBED_SETTINGS } from './embedding/reembedder';
import { MessagingDocumentEvents } from './documents/messaging-document-events';
import { TypeOrmDocumentsRepository } from './documents/typeorm-documents.repository';
import { RetrievalController } from './retrieval.controller';
import { IndexLoader } from './search/index-loader';
import { IndexSyncConsumer } from './search/index-sync.consumer';
import { SearchIndex } from './search/search-index';
import { SearchUseCase } from './search/search.use-case';

export const SERVICE_NAME = 'retrieval';

/** Connections are opened (and closed) by the bootstrap, which owns their lifecycle and order. */
export interface AppResources {
  config: AppConfig;
  dataSource: DataSource;
  messaging: Messaging;
}

@Module({})
export class AppModule {
  static register({ config, dataSource, messaging }: AppResources): DynamicModule {
    return {
      module: AppModule,
      imports: [ObservabilityModule.forRoot({ service: SERVICE_NAME, level: config.LOG_LEVEL })],
      controllers: [RetrievalController],
      providers: [
        { provide: DataSource, useValue: dataSource },
        { provide: Messaging, useValue: messaging },
        { provide: EmbeddingModels, useFactory: (): EmbeddingModels => embeddingModelsFrom(config) },
        { provide: REEMBED_SETTINGS, useValue: { batch: config.RETRIEVAL_REEMBED_BATCH, retryDelayMs: REEMBED_RETRY_DELAY_MS } },
        Reembedder,
        { provide: SEARCH_SETTINGS, useValue: searchSettingsFrom(config) },
        { provide: CHUNKING_SETTINGS, useValue: chunkingSettingsFrom(config) },
        { provide: RetrievalMetrics, useClass: PrometheusRetrievalMetrics },
        { provide: DocumentsRepository, useClass: TypeOrmDocumentsRepository },
        { provide: DocumentEvents, useClass: MessagingDocumentEvents },
        KeyedLock,
        SearchIndex,
        IndexLoader,
        IndexSyncConsumer,
        IngestDocumentUseCase,
        IngestDocumentsUseCase,
        ListDocumentsUseCase,
        DeleteDocumentUseCase,
        GetChunkUseCase,
        SearchUseCase,
      ],
    };
  }
}
