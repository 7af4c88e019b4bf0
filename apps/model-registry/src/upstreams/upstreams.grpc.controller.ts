import { status } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { generation, registry } from '@ragmesh/contracts';
import { validateRegisterUpstream } from './upstream.schemas';
import { toGrpcUpstream } from './upstream.views';
import { ListModelsUseCase, ListUpstreamsUseCase, RegisterUpstreamUseCase } from './upstreams.use-cases';

@Controller()
@registry.ModelRegistryServiceControllerMethods()
export class UpstreamsGrpcController implements registry.ModelRegistryServiceController {
  constructor(
    private readonly register: RegisterUpstreamUseCase,
    private readonly listUpstreamsUseCase: ListUpstreamsUseCase,
    private readonly listModelsUseCase: ListModelsUseCase,
  ) {}

  async registerUpstream(request: registry.RegisterUpstreamRequest): Promise<registry.Upstream> {
    const validated = validateRegisterUpstream(request);
    if (!validated.ok) {
      const first = validated.errors[0];
      throw new RpcException({ code: status.INVALID_ARGUMENT, message: `${first.field}: ${first.reason}` });
    }
    return toGrpcUpstream(await this.register.execute(validated.value));
  }

  async listUpstreams(): Promise<registry.ListUpstreamsResponse> {
    return { upstreams: (await this.listUpstreamsUseCase.execute()).map(toGrpcUpstream) };
  }

  async listModels(): Promise<generation.ListModelsResponse> {
    return { models: await this.listModelsUseCase.execute() };
  }
}
