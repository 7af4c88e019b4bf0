import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, protoPath, serviceTokenInterceptor } from '@ragmesh/contracts';
import { createServer } from 'node:net';

/** Helpers shared by the registry's integration tests (not part of the service). */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

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
