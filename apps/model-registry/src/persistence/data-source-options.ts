import type { ServiceDataSourceOptions } from '@ragmesh/persistence';
import { CreateUpstreams1731400000000 } from './1731400000000CreateUpstreams';
import { ImprovementLoop1731500000000 } from './1731500000000ImprovementLoop';
import { UpstreamEntity } from './upstream.entity';

export function dataSourceOptions(databaseUrl: string, schema: string): ServiceDataSourceOptions {
  return { url: databaseUrl, schema, entities: [UpstreamEntity], migrations: [CreateUpstreams1731400000000, ImprovementLoop1731500000000] };
}
