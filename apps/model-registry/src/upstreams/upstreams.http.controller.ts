import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post } from '@nestjs/common';
import { Envelope, invalid, ok } from '../http/envelope';
import { Validated, validateRegisterUpstream, validateUpdateUpstream, validateUpstreamName } from './upstream.schemas';
import { toJsonUpstream, UpstreamJson } from './upstream.views';
import { ListModelsUseCase, ListUpstreamsUseCase, RegisterUpstreamUseCase, RemoveUpstreamUseCase, UpdateUpstreamUseCase } from './upstreams.use-cases';

interface ModelJson {
  id: string;
  owned_by: string;
  upstream: string;
  kind: string;
}

/** The REST body's snake_case names → the command's internal names (absent stays absent). */
function fromJsonBody(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const { base_url: baseUrl, max_concurrency: maxConcurrency, ...rest } = body as Record<string, unknown>;
  return { ...rest, ...(baseUrl !== undefined ? { baseUrl } : {}), ...(maxConcurrency !== undefined ? { maxConcurrency } : {}) };
}

function valid<T>(validated: Validated<T>, what: string): T {
  if (!validated.ok) throw invalid(what, validated.errors);
  return validated.value;
}

const UPSTREAMS = ['v1/upstreams', 'v1/admin/upstreams'];
const UPSTREAM = UPSTREAMS.map((p) => `${p}/:name`);

/** Admin REST for operators (upstreams under /v1 and /v1/admin); the same use-cases as the gRPC service. */
@Controller()
export class UpstreamsHttpController {
  constructor(
    private readonly register: RegisterUpstreamUseCase,
    private readonly update: UpdateUpstreamUseCase,
    private readonly remove: RemoveUpstreamUseCase,
    private readonly listUpstreamsUseCase: ListUpstreamsUseCase,
    private readonly listModelsUseCase: ListModelsUseCase,
  ) {}

  @Get(UPSTREAMS)
  async listUpstreams(): Promise<Envelope<{ upstreams: UpstreamJson[] }>> {
    const upstreams = await this.listUpstreamsUseCase.execute();
    return ok(`${upstreams.length} upstreams`, { upstreams: upstreams.map(toJsonUpstream) });
  }

  @Post(UPSTREAMS)
  @HttpCode(HttpStatus.CREATED)
  async registerUpstream(@Body() body: unknown): Promise<Envelope<{ upstream: UpstreamJson }>> {
    const upstream = await this.register.execute(valid(validateRegisterUpstream(fromJsonBody(body)), 'invalid upstream'));
    return ok(`upstream "${upstream.name}" registered`, { upstream: toJsonUpstream(upstream) });
  }

  /** Changes only the fields present; the path names the upstream. */
  @Patch(UPSTREAM)
  async updateUpstream(@Param('name') name: string, @Body() body: unknown): Promise<Envelope<{ upstream: UpstreamJson }>> {
    const changes = fromJsonBody(body);
    const input = typeof changes === 'object' && changes !== null && !Array.isArray(changes) ? { ...changes, name } : changes;
    const upstream = await this.update.execute(valid(validateUpdateUpstream(input), 'invalid upstream update'));
    return ok(`upstream "${upstream.name}" updated`, { upstream: toJsonUpstream(upstream) });
  }

  @Delete(UPSTREAM)
  async removeUpstream(@Param('name') name: string): Promise<Envelope<{ upstream: UpstreamJson }>> {
    const upstream = await this.remove.execute(valid(validateUpstreamName(name), 'invalid upstream name'));
    return ok(`upstream "${upstream.name}" removed`, { upstream: toJsonUpstream(upstream) });
  }

  @Get('v1/models')
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
