import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { openServiceDataSource, type ServiceDataSourceOptions } from './data-source';
import { observePool } from './pool-metrics';

/** Injection token of the service's open, migrated DataSource. */
export const DATA_SOURCE = Symbol('DATA_SOURCE');

/** Global: the service's PostgreSQL schema, migrated when the data source opens. */
@Module({})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}

  static forRoot(options: ServiceDataSourceOptions): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      providers: [
        {
          provide: DATA_SOURCE,
          useFactory: async () => {
            const ds = await openServiceDataSource(options);
            // A destroyed data source reports nothing, so shutdown needs no unobserve.
            observePool(ds, options.schema);
            return ds;
          },
        },
      ],
      exports: [DATA_SOURCE],
    };
  }

  // onApplicationShutdown, not before: consumers drain in beforeApplicationShutdown and HTTP
  // requests finish in dispose, and both may still write.
  async onApplicationShutdown(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}
