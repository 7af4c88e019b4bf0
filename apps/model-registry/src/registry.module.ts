import { DynamicModule, Module } from '@nestjs/common';
import { OutboundHttpClient } from '@ragmesh/outbound';
import { DataSource } from 'typeorm';
import { EventLogRepository, PgEventLogRepository } from './events/event-log.repository';
import { ModelStatusConsumer } from './events/model-status.consumer';
import { ModelStatusRepository, PgModelStatusRepository } from './models/model-status.repository';
import { ModelStatusService } from './models/model-status.service';
import { EMBEDDING_OPTIONS, EmbeddingOptions, ModelStatusUseCase } from './models/model-status.use-case';
import { ModelsHttpController } from './models/models.http.controller';
import { AdaptersHttpController } from './training/adapters.http.controller';
import { AdaptersRepository } from './training/adapters.repository';
import { AdaptersService } from './training/adapters.service';
import { DatasetRepository } from './training/dataset.repository';
import { HttpLoraClient, LoraClient } from './training/lora.client';
import { RatingsConsumer } from './training/ratings.consumer';
import { HttpRayJobsClient, RayJobsClient, UnconfiguredRayJobsClient } from './training/ray-jobs.client';
import { RunsRepository } from './training/runs.repository';
import { SettingsRepository } from './training/settings.repository';
import { SettingsUseCase } from './training/settings.use-case';
import { TrainingHttpController } from './training/training.http.controller';
import { TrainingMetrics } from './training/training.metrics';
import { TRAINING_OPTIONS, TrainingOptions, TrainingService } from './training/training.service';
import { WebhookOptions, WebhookSender } from './training/webhooks';
import { UpstreamFeed } from './upstreams/upstream-feed';
import { HttpUpstreamProber, UpstreamProber } from './upstreams/upstream-prober';
import { SEED_OPTIONS, SeedOptions, UpstreamSeeder } from './upstreams/upstream-seeder';
import { UpstreamWatcher, WATCHER_OPTIONS, WatcherOptions } from './upstreams/upstream-watcher';
import { TypeOrmUpstreamRepository, UpstreamRepository } from './upstreams/upstream.repository';
import { UpstreamsGrpcController } from './upstreams/upstreams.grpc.controller';
import { UpstreamsHttpController } from './upstreams/upstreams.http.controller';
import {
  ListModelsUseCase,
  ListUpstreamsUseCase,
  RegisterUpstreamUseCase,
  RemoveUpstreamUseCase,
  UpdateUpstreamUseCase,
} from './upstreams/upstreams.use-cases';

export interface RegistryModuleOptions {
  dataSource: DataSource;
  watcher: WatcherOptions;
  seed: SeedOptions;
  probeTimeoutMs: number;
  embedding: EmbeddingOptions;
  training: TrainingOptions;
  webhooks: WebhookOptions;
  outboundAllowList: string;
  rayJobsUrl?: string;
  rayJobsTimeoutMs: number;
  loraTimeoutMs: number;
  /** Replace the HTTP adapters (tests). */
  prober?: UpstreamProber;
  ray?: RayJobsClient;
  lora?: LoraClient;
}

@Module({})
export class RegistryModule {
  static register(opts: RegistryModuleOptions): DynamicModule {
    const outbound = new OutboundHttpClient({ allow: opts.outboundAllowList, timeoutMs: opts.webhooks.timeoutMs });
    return {
      module: RegistryModule,
      controllers: [UpstreamsGrpcController, UpstreamsHttpController, ModelsHttpController, TrainingHttpController, AdaptersHttpController],
      providers: [
        { provide: DataSource, useValue: opts.dataSource },
        { provide: UpstreamRepository, useClass: TypeOrmUpstreamRepository },
        { provide: UpstreamProber, useFactory: () => opts.prober ?? new HttpUpstreamProber(opts.probeTimeoutMs) },
        { provide: WATCHER_OPTIONS, useValue: opts.watcher },
        { provide: SEED_OPTIONS, useValue: opts.seed },
        { provide: EMBEDDING_OPTIONS, useValue: opts.embedding },
        { provide: TRAINING_OPTIONS, useValue: opts.training },
        { provide: OutboundHttpClient, useValue: outbound },
        { provide: WebhookSender, useFactory: () => new WebhookSender(outbound, opts.webhooks) },
        {
          provide: RayJobsClient,
          useFactory: () => opts.ray ?? (opts.rayJobsUrl ? new HttpRayJobsClient(opts.rayJobsUrl, opts.rayJobsTimeoutMs) : new UnconfiguredRayJobsClient()),
        },
        { provide: LoraClient, useFactory: () => opts.lora ?? new HttpLoraClient(opts.loraTimeoutMs) },
        { provide: ModelStatusRepository, useClass: PgModelStatusRepository },
        { provide: EventLogRepository, useClass: PgEventLogRepository },
        UpstreamFeed,
        RegisterUpstreamUseCase,
        UpdateUpstreamUseCase,
        RemoveUpstreamUseCase,
        ListUpstreamsUseCase,
        ListModelsUseCase,
        UpstreamSeeder,
        UpstreamWatcher,
        ModelStatusService,
        ModelStatusUseCase,
        ModelStatusConsumer,
        SettingsRepository,
        SettingsUseCase,
        DatasetRepository,
        RunsRepository,
        AdaptersRepository,
        AdaptersService,
        TrainingMetrics,
        TrainingService,
        RatingsConsumer,
      ],
      exports: [UpstreamWatcher, TrainingService],
    };
  }
}
