import type { ServiceDataSourceOptions } from '@ragmesh/persistence';
import { CreateUpstreams1731400000000 } from './1731400000000CreateUpstreams';
import { UpstreamEntity } from './upstream.entity';

export function dataSourceOptions(databaseUrl: string, schema: string): ServiceDataSourceOptions {
  return { url: databaseUrl, schema, entities: [UpstreamEntity], migrations: [CreateUpstreams1731400000000] };
}
