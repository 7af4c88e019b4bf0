import { DynamicModule, Module } from '@nestjs/common';
import { type ClientGrpc, ClientsModule, Transport } from '@nestjs/microservices';
import { GENERATION_SERVICE_NAME } from './generated/ragmesh/v1/generation';
import { RETRIEVAL_SERVICE_NAME } from './generated/ragmesh/v1/retrieval';
import { PROTO_LOADER_OPTIONS, PROTO_PACKAGE, protoPath } from './proto-paths';
import { serviceTokenInterceptor } from './service-token';

/** Injection token of a `generation.GenerationServiceClient`. */
export const GENERATION_SERVICE_CLIENT = Symbol('GENERATION_SERVICE_CLIENT');
/** Injection token of a `retrieval.RetrievalServiceClient`. */
export const RETRIEVAL_SERVICE_CLIENT = Symbol('RETRIEVAL_SERVICE_CLIENT');

/** host:port of each service the app calls; a client is provided only for the services given. */
export interface GrpcClientUrls {
  generation?: string;
  retrieval?: string;
}

const SERVICES = {
  generation: { token: GENERATION_SERVICE_CLIENT, transport: Symbol('GENERATION_GRPC_TRANSPORT'), serviceName: GENERATION_SERVICE_NAME },
  retrieval: { token: RETRIEVAL_SERVICE_CLIENT, transport: Symbol('RETRIEVAL_GRPC_TRANSPORT'), serviceName: RETRIEVAL_SERVICE_NAME },
} as const;

/**
 * Global: typed gRPC service clients of the mesh (calls carry no deadline of their own: wrap them
 * with `unary`/`serverStream` and a `GrpcDeadlines` value).
 */
@Module({})
export class GrpcClientsModule {
  static forRoot(urls: GrpcClientUrls): DynamicModule {
    const wanted = (Object.keys(SERVICES) as (keyof GrpcClientUrls)[]).flatMap((name) => {
      const url = urls[name];
      return url === undefined ? [] : [{ name, url, ...SERVICES[name] }];
    });
    return {
      module: GrpcClientsModule,
      global: true,
      imports: [
        ClientsModule.register(
          wanted.map(({ name, url, transport }) => ({
            name: transport,
            transport: Transport.GRPC,
            options: {
              package: PROTO_PACKAGE,
              protoPath: protoPath(name),
              url,
              loader: PROTO_LOADER_OPTIONS,
              // Every call carries the mesh's service token; servers refuse calls without it (UNAUTHENTICATED).
              channelOptions: { interceptors: [serviceTokenInterceptor()] },
            },
          })),
        ),
      ],
      providers: wanted.map(({ token, transport, serviceName }) => ({
        provide: token,
        useFactory: (grpc: ClientGrpc): unknown => grpc.getService(serviceName),
        inject: [transport],
      })),
      exports: wanted.map(({ token }) => token),
    };
  }
}
