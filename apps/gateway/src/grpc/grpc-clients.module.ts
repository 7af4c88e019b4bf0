import { DynamicModule, Module } from '@nestjs/common';
import { ClientsModule, Transport } from '@nestjs/microservices';
import { PROTO_LOADER_OPTIONS, PROTO_PACKAGE, protoPath } from '@ragmesh/contracts';
import type { AppConfig } from '../config';
import { GenerationRepository, GrpcGenerationRepository } from './generation.repository';
import { GrpcRetrievalRepository, RetrievalRepository } from './retrieval.repository';
import { GENERATION_CLIENT, RETRIEVAL_CLIENT } from './tokens';


/** The gRPC clients the gateway calls, each behind an adapter the use-cases depend on. */
@Module({})
export class GrpcClientsModule {
  static register(config: Pick<AppConfig, 'RETRIEVAL_GRPC_URL' | 'GENERATION_GRPC_URL'>): DynamicModule {
    const clients = ClientsModule.register([
      {
        name: RETRIEVAL_CLIENT,
        transport: Transport.GRPC,
        options: { package: PROTO_PACKAGE, protoPath: protoPath('retrieval'), url: config.RETRIEVAL_GRPC_URL, loader: PROTO_LOADER_OPTIONS },
      },
      {
        name: GENERATION_CLIENT,
        transport: Transport.GRPC,
        options: { package: PROTO_PACKAGE, protoPath: protoPath('generation'), url: config.GENERATION_GRPC_URL, loader: PROTO_LOADER_OPTIONS },
      },
    ]);
    return {
      module: GrpcClientsModule,
      global: true,
      imports: [clients],
      providers: [
        { provide: RetrievalRepository, useClass: GrpcRetrievalRepository },
        { provide: GenerationRepository, useClass: GrpcGenerationRepository },
      ],
      exports: [RetrievalRepository, GenerationRepository],
    };
  }
}
