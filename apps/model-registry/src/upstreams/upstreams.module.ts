import { DynamicModule, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { HttpUpstreamProber, UpstreamProber } from './upstream-prober';
import { SEED_OPTIONS, SeedOptions, UpstreamSeeder } from './upstream-seeder';
import { UpstreamWatcher, WATCHER_OPTIONS, WatcherOptions } from './upstream-watcher';
import { TypeOrmUpstreamRepository, UpstreamRepository } from './upstream.repository';
import { UpstreamsGrpcController } from './upstreams.grpc.controller';
import { UpstreamsHttpController } from './upstreams.http.controller';
import { ListModelsUseCase, ListUpstreamsUseCase, RegisterUpstreamUseCase } from './upstreams.use-cases';

export interface UpstreamsModuleOptions {
  dataSource: DataSource;
  watcher: WatcherOptions;
  seed: SeedOptions;
  probeTimeoutMs: number;
  /** Replaces the HTTP prober (tests). */
  prober?: UpstreamProber;
}

@Module({})
export class UpstreamsModule {
  static register(opts: UpstreamsModuleOptions): DynamicModule {
    return {
      module: UpstreamsModule,
      controllers: [UpstreamsGrpcController, UpstreamsHttpController],
      providers: [
        { provide: DataSource, useValue: opts.dataSource },
        { provide: UpstreamRepository, useClass: TypeOrmUpstreamRepository },
        { provide: UpstreamProber, useFactory: () => opts.prober ?? new HttpUpstreamProber(opts.probeTimeoutMs) },
        { provide: WATCHER_OPTIONS, useValue: opts.watcher },
        { provide: SEED_OPTIONS, useValue: opts.seed },
        RegisterUpstreamUseCase,
        ListUpstreamsUseCase,
        ListModelsUseCase,
        UpstreamSeeder,
        UpstreamWatcher,
      ],
      exports: [UpstreamWatcher],
    };
  }
}
