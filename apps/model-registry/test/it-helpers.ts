import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, protoPath, serviceTokenInterceptor } from '@ragmesh/contracts';
import type { UpstreamRecord } from '../src/upstreams/upstream.repository';

/** Helpers shared by the registry's tests (not part of the service). */

export { freePort } from '@ragmesh/testing';

/** An upstream as the repository returns it; tests override what they care about. */
export const upstreamRecord = (name: string, over: Partial<UpstreamRecord> = {}): UpstreamRecord => ({
  id: name,
  name,
  baseUrl: `http://${name}:8000`,
  kind: 'vllm',
  models: [],
  status: 'up',
  lastError: null,
  checkedAt: null,
  weight: 1,
  maxConcurrency: 0,
  labels: [],
  updatedAt: new Date(0),
  ...over,
});

export async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met in time; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export type Callback<T> = (err: grpc.ServiceError | null, res?: T) => void;

export const unary = <T>(fn: (cb: Callback<T>) => unknown): Promise<T> =>
  new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res as T))));

/** A dynamic (proto-loader) client of ModelRegistryService, as another team would build one, with the mesh's service token. */
export function registryClient<C>(address: string): C & grpc.Client {
  const definition = protoLoader.loadSync(protoPath('registry'), PROTO_LOADER_OPTIONS);
  const v1 = (grpc.loadPackageDefinition(definition).ragmesh as grpc.GrpcObject).v1 as grpc.GrpcObject;
  const Service = v1.ModelRegistryService as grpc.ServiceClientConstructor;
  return new Service(address, grpc.credentials.createInsecure(), { interceptors: [serviceTokenInterceptor()] }) as unknown as C & grpc.Client;
}
