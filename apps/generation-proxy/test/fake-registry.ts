import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, protoPath, type registry } from '@ragmesh/contracts';

export interface FakeRegistry {
  port: number;
  /** Sends a change to every open watch stream. */
  push(change: registry.UpstreamsChange): void;
  /** A crash, not a drain: open watch streams are cut. */
  stop(): void;
}

/** A registry that serves WatchUpstreams from a snapshot the test controls, and can go away. */
export async function fakeRegistry(port: number, snapshot: () => registry.UpstreamsChange): Promise<FakeRegistry> {
  const definition = protoLoader.loadSync(protoPath('registry'), PROTO_LOADER_OPTIONS);
  const v1 = (grpc.loadPackageDefinition(definition).ragmesh as grpc.GrpcObject).v1 as grpc.GrpcObject;
  const service = (v1.ModelRegistryService as grpc.ServiceClientConstructor).service;
  const server = new grpc.Server();
  const streams = new Set<grpc.ServerWritableStream<unknown, registry.UpstreamsChange>>();
  server.addService(service, {
    watchUpstreams: (call: grpc.ServerWritableStream<unknown, registry.UpstreamsChange>) => {
      streams.add(call);
      call.on('cancelled', () => streams.delete(call));
      call.write(snapshot());
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port: bound,
    push: (change) => streams.forEach((s) => s.write(change)),
    stop: () => server.forceShutdown(),
  };
}
