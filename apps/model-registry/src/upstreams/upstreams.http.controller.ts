import { BadRequestException, Body, Controller, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { validateRegisterUpstream } from './upstream.schemas';
import { toJsonUpstream, UpstreamJson } from './upstream.views';
import { ListModelsUseCase, ListUpstreamsUseCase, RegisterUpstreamUseCase } from './upstreams.use-cases';

export interface Envelope<T> {
  status: 'ok' | 'error';
  message: string;
  data: T;
}

interface ModelJson {
  id: string;
  owned_by: string;
  upstream: string;
  kind: string;
}

const ok = <T>(message: string, data: T): Envelope<T> => ({ status: 'ok', message, data });

/** The REST body's snake_case names → the command's internal names. */
function fromJsonBody(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const { base_url: baseUrl, ...rest } = body as Record<string, unknown>;
  return { ...rest, baseUrl };
}

/** Admin REST for operators; the same use-cases as the gRPC service. */
@Controller('v1')
export class UpstreamsHttpController {
  constructor(
    private readonly register: RegisterUpstreamUseCase,
    private readonly listUpstreamsUseCase: ListUpstreamsUseCase,
    private readonly listModelsUseCase: ListModelsUseCase,
  ) {}

  @Get('upstreams')
  async listUpstreams(): Promise<Envelope<{ upstreams: UpstreamJson[] }>> {
    const upstreams = await this.listUpstreamsUseCase.execute();
    return ok(`${upstreams.length} upstreams`, { upstreams: upstreams.map(toJsonUpstream) });
  }

  @Post('upstreams')
  @HttpCode(HttpStatus.CREATED)
  async registerUpstream(@Body() body: unknown): Promise<Envelope<{ upstream: UpstreamJson }>> {
    const validated = validateRegisterUpstream(fromJsonBody(body));
    if (!validated.ok) {
      throw new BadRequestException({ status: 'error', message: 'invalid upstream', data: { errors: validated.errors } });
    }
    const upstream = await this.register.execute(validated.value);
    return ok(`upstream "${upstream.name}" registered`, { upstream: toJsonUpstream(upstream) });
  }

  @Get('models')
  async listModels(): Promise<Envelope<{ models: ModelJson[] }>> {
    const models = (await this.listModelsUseCase.execute()).map((m) => ({
      id: m.id,
      owned_by: m.ownedBy,
      upstream: m.upstream,
      kind: m.kind,
    }));
    return ok(`${models.length} models`, { models });
  }
}
