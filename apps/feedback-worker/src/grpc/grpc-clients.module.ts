import { DynamicModule, Module } from '@nestjs/common';
import { ClientsModule, Transport } from '@nestjs/microservices';
import { PROTO_LOADER_OPTIONS, PROTO_PACKAGE, protoPath } from '@ragmesh/contracts';
import type { AppConfig } from '../config';
import { GenerationRepository, GrpcGenerationRepository } from './generation.repository';
import { GENERATION_CLIENT } from './tokens';

@Module({})
export class GrpcClientsModule {
  static register(config: Pick<AppConfig, 'GENERATION_GRPC_URL'>): DynamicModule {
    return {
      module: GrpcClientsModule,
      global: true,
      imports: [
        ClientsModule.register([
          {
            name: GENERATION_CLIENT,
            transport: Transport.GRPC,
            options: { package: PROTO_PACKAGE, protoPath: protoPath('generation'), url: config.GENERATION_GRPC_URL, loader: PROTO_LOADER_OPTIONS },
          },
        ]),
      ],
      providers: [{ provide: GenerationRepository, useClass: GrpcGenerationRepository }],
      exports: [GenerationRepository],
    };
  }
}
