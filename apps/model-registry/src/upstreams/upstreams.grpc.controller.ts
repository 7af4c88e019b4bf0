import { status } from '@grpc/grpc-js';
import { Controller, UseInterceptors } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { generation, registry } from '@ragmesh/contracts';
import { GrpcCorrelationInterceptor } from '@ragmesh/observability';
import { map, Observable } from 'rxjs';
import { ModelStatusUseCase } from '../models/model-status.use-case';
import { AdaptersRepository } from '../training/adapters.repository';
import { modelsQuery } from '../training/training.schemas';
import { modelStatusGrpc } from '../models/model-status.views';
import { UpstreamFeed } from './upstream-feed';
import { UpdateUpstreamCommand, validateRegisterUpstream, Validated, validateUpdateUpstream, validateUpstreamName } from './upstream.schemas';
import { toGrpcUpstream } from './upstream.views';
import {
  ListModelsUseCase,
  ListUpstreamsUseCase,
  RegisterUpstreamUseCase,
  RemoveUpstreamUseCase,
  UnknownUpstreamError,
  UpdateUpstreamUseCase,
} from './upstreams.use-cases';

function valid<T>(validated: Validated<T>): T {
  if (validated.ok) return validated.value;
  const first = validated.errors[0];
  throw new RpcException({ code: status.INVALID_ARGUMENT, message: `${first.field}: ${first.reason}` });
}

function notFoundAsRpc(err: unknown): never {
  if (err instanceof UnknownUpstreamError) throw new RpcException({ code: status.NOT_FOUND, message: err.message });
  throw err;
}

/** proto3 cannot leave a repeated field unset: set_models / set_labels say whether the list is a change. */
function updateFromGrpc(req: registry.UpdateUpstreamRequest): Record<string, unknown> {
  return {
    name: req.name,
    ...(req.baseUrl !== undefined ? { baseUrl: req.baseUrl } : {}),
    ...(req.kind !== undefined ? { kind: req.kind } : {}),
    ...(req.setModels ? { models: req.models } : {}),
    ...(req.weight !== undefined ? { weight: req.weight } : {}),
    ...(req.maxConcurrency !== undefined ? { maxConcurrency: req.maxConcurrency } : {}),
    ...(req.setLabels ? { labels: req.labels } : {}),
  };
}

@Controller()
// The gRPC server is a connected microservice: the app's APP_INTERCEPTOR does not reach it, so the
// service-token check, correlation and call metrics are bound here.
@UseInterceptors(GrpcCorrelationInterceptor)
@registry.ModelRegistryServiceControllerMethods()
export class UpstreamsGrpcController implements registry.ModelRegistryServiceController {
  constructor(
    private readonly register: RegisterUpstreamUseCase,
    private readonly updateUseCase: UpdateUpstreamUseCase,
    private readonly removeUseCase: RemoveUpstreamUseCase,
    private readonly listUpstreamsUseCase: ListUpstreamsUseCase,
    private readonly listModelsUseCase: ListModelsUseCase,
    private readonly feed: UpstreamFeed,
    private readonly modelStatus: ModelStatusUseCase,
    private readonly adapters: AdaptersRepository,
  ) {}

  async registerUpstream(request: registry.RegisterUpstreamRequest): Promise<registry.Upstream> {
    return toGrpcUpstream(await this.register.execute(valid(validateRegisterUpstream(request))));
  }

  async updateUpstream(request: registry.UpdateUpstreamRequest): Promise<registry.Upstream> {
    const command: UpdateUpstreamCommand = valid(validateUpdateUpstream(updateFromGrpc(request)));
    return toGrpcUpstream(await this.updateUseCase.execute(command).catch(notFoundAsRpc));
  }

  async removeUpstream(request: registry.RemoveUpstreamRequest): Promise<registry.RemoveUpstreamResponse> {
    await this.removeUseCase.execute(valid(validateUpstreamName(request.name))).catch(notFoundAsRpc);
    return { removed: true };
  }

  async listUpstreams(): Promise<registry.ListUpstreamsResponse> {
    return { upstreams: (await this.listUpstreamsUseCase.execute()).map(toGrpcUpstream) };
  }

  async listModels(): Promise<generation.ListModelsResponse> {
    return { models: await this.listModelsUseCase.execute() };
  }

  watchUpstreams(): Observable<registry.UpstreamsChange> {
    return this.feed
      .watch(() => this.listUpstreamsUseCase.execute(), () => this.adapters.defaults())
      .pipe(
        map((change) => ({
          type: change.type,
          upstreams: change.upstreams.map(toGrpcUpstream),
          revision: change.revision,
          defaultAdapters: change.defaultAdapters ?? {},
        })),
      );
  }

  async getModelStatus(request: registry.GetModelStatusRequest): Promise<registry.GetModelStatusResponse> {
    const query = modelsQuery.safeParse(request.model ? { model: request.model } : {});
    if (!query.success) throw new RpcException({ code: status.INVALID_ARGUMENT, message: `model: ${query.error.issues[0].message}` });
    return { models: (await this.modelStatus.list(query.data.model)).map(modelStatusGrpc) };
  }
}
