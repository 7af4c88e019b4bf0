import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ok, parseOr400 } from '../http/envelope';
import { AdaptersService, toJsonOutcome } from './adapters.service';
import { adapterRef, emptyBody, rollbackBody } from './training.schemas';
import { adapterJson } from './views';

/** Adapters by id or name: list, load/unload on the upstreams, promote, roll back. */
@Controller('v1/admin/adapters')
export class AdaptersHttpController {
  constructor(private readonly adapters: AdaptersService) {}

  @Get()
  async list() {
    const adapters = await this.adapters.list();
    return ok(`${adapters.length} adapters`, { adapters: adapters.map(adapterJson) });
  }

  @Post('rollback')
  @HttpCode(HttpStatus.OK)
  async rollback(@Body() body: unknown) {
    const b = parseOr400(rollbackBody, body, 'rollback request');
    const result = await this.adapters.rollback(b.base_model, b.to_version);
    return ok(`${b.base_model}: default is now ${result.to?.name ?? 'the base model'}`, {
      from: result.from ? adapterJson(result.from) : null,
      to: result.to ? adapterJson(result.to) : null,
      loads: result.loads.map(toJsonOutcome),
    });
  }

  @Get(':id')
  async get(@Param('id') id: string) {
    return ok('adapter', { adapter: adapterJson(await this.find(id)) });
  }

  @Post(':id/load')
  @HttpCode(HttpStatus.OK)
  async load(@Param('id') id: string, @Body() body: unknown) {
    parseOr400(emptyBody, body ?? {}, 'load request');
    const adapter = await this.find(id);
    const loads = await this.adapters.load(adapter);
    return ok(`adapter ${adapter.name} loaded on ${loads.filter((l) => l.ok).length} of ${loads.length} upstreams`, { adapter: adapterJson(adapter), loads: loads.map(toJsonOutcome) });
  }

  @Post(':id/unload')
  @HttpCode(HttpStatus.OK)
  async unload(@Param('id') id: string, @Body() body: unknown) {
    parseOr400(emptyBody, body ?? {}, 'unload request');
    const adapter = await this.find(id);
    const loads = await this.adapters.unload(adapter);
    return ok(`adapter ${adapter.name} unloaded from ${loads.filter((l) => l.ok).length} of ${loads.length} upstreams`, { adapter: adapterJson(adapter), loads: loads.map(toJsonOutcome) });
  }

  @Post(':id/promote')
  @HttpCode(HttpStatus.OK)
  async promote(@Param('id') id: string, @Body() body: unknown) {
    parseOr400(emptyBody, body ?? {}, 'promote request');
    const loads = await this.adapters.promote(await this.find(id));
    const adapter = await this.find(id);
    return ok(`adapter ${adapter.name} is the default of ${adapter.baseModel}`, { adapter: adapterJson(adapter), loads: loads.map(toJsonOutcome) });
  }

  private find(id: string) {
    return this.adapters.get(parseOr400(adapterRef, id, 'path', 'id'));
  }
}
