import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, protoPath } from '@ragmesh/contracts';

interface GrpcPackage {
  ragmesh: { v1: Record<string, grpc.ServiceClientConstructor> };
}

/** In-test retrieval and generation servers on one random port, loaded from the real protos. */
export async function startFakeGrpc(
  retrievalHandlers: grpc.UntypedServiceImplementation,
  generationHandlers: grpc.UntypedServiceImplementation,
): Promise<{ server: grpc.Server; port: number }> {
  const definition = protoLoader.loadSync([protoPath('retrieval'), protoPath('generation')], PROTO_LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as GrpcPackage;
  const server = new grpc.Server();
  server.addService(pkg.ragmesh.v1.RetrievalService.service, retrievalHandlers);
  server.addService(pkg.ragmesh.v1.GenerationService.service, generationHandlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}
