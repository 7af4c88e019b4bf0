import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { openServiceDataSource } from '@ragmesh/persistence';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config';
import { dataSourceOptions } from './data-source';

export const DATA_SOURCE = Symbol('FEEDBACK_DATA_SOURCE');

/** The feedback PostgreSQL schema, migrated when the data source opens. */
@Module({})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}

  static register(config: Pick<AppConfig, 'DATABASE_URL'>): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      providers: [{ provide: DATA_SOURCE, useFactory: () => openServiceDataSource(dataSourceOptions(config)) }],
      exports: [DATA_SOURCE],
    };
  }

  // After the messaging module has drained in-flight handlers (beforeApplicationShutdown).
  async onApplicationShutdown(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}
