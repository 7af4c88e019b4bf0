import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post, Put, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { EventLogRepository } from '../events/event-log.repository';
import { invalid, ok, parseOr400 } from '../http/envelope';
import { AdaptersRepository } from './adapters.repository';
import { DatasetRepository } from './dataset.repository';
import { NotFoundError } from './errors';
import { RayJobsClient } from './ray-jobs.client';
import { RunsRepository } from './runs.repository';
import { SettingsUseCase } from './settings.use-case';
import { emptyBody, eventsQuery, examplesQuery, runsQuery, uuidParam, versionParam } from './training.schemas';
import { TrainingService } from './training.service';
import { adapterJson, eventJson, exampleJson, exampleJsonl, runJson } from './views';

/** Admin REST of the improvement loop: status, settings, runs and logs, events, dataset examples. */
@Controller('v1/admin')
export class TrainingHttpController {
  constructor(
    private readonly training: TrainingService,
    private readonly settings: SettingsUseCase,
    private readonly runs: RunsRepository,
    private readonly dataset: DatasetRepository,
    private readonly adapters: AdaptersRepository,
    private readonly events: EventLogRepository,
    private readonly ray: RayJobsClient,
  ) {}

  @Get('status')
  async status() {
    const [settings, examples, deleted, active, recent, runCounts, adapters, lastPromotion] = await Promise.all([
      this.settings.get(),
      this.dataset.counts(),
      this.dataset.deletedCount(),
      this.runs.active(),
      this.runs.list(1, 0),
      this.runs.countsByStatus(),
      this.adapters.list(),
      this.adapters.lastPromotion(),
    ]);
    return ok('improvement loop status', {
      auto_train: settings.auto_train,
      examples_per_run: settings.examples_per_run,
      base_model: settings.base_model,
      examples: { ...examples, deleted },
      until_next_run: Math.max(0, settings.examples_per_run - examples.pending),
      active_run: active ? runJson(active) : null,
      last_run: recent[0] ? runJson(recent[0]) : null,
      runs: runCounts,
      default_adapters: adapters.filter((a) => a.isDefault).map(adapterJson),
      adapter_count: adapters.length,
      last_promotion_at: lastPromotion?.toISOString() ?? null,
    });
  }

  @Get('settings')
  async getSettings() {
    return ok('settings', { settings: await this.settings.get() });
  }

  @Put('settings')
  async putSettings(@Body() body: unknown) {
    return this.updateSettings(body);
  }

  @Patch('settings')
  async patchSettings(@Body() body: unknown) {
    return this.updateSettings(body);
  }

  @Post('runs')
  @HttpCode(HttpStatus.CREATED)
  async startRun(@Body() body: unknown) {
    parseOr400(emptyBody, body ?? {}, 'run request');
    const run = await this.training.startNow();
    return ok(`training run ${run.id} started`, { run: runJson(run) });
  }

  @Get('runs')
  async listRuns(@Query() query: unknown) {
    const q = parseOr400(runsQuery, query, 'query');
    const runs = await this.runs.list(q.limit, q.offset, q.status);
    return ok(`${runs.length} runs`, { runs: runs.map(runJson) });
  }

  @Get('runs/:id')
  async getRun(@Param('id') id: string) {
    return ok('run', { run: runJson(await this.findRun(id)) });
  }

  @Get('runs/:id/logs')
  async runLogs(@Param('id') id: string) {
    const run = await this.findRun(id);
    const logs = run.submissionId ? await this.ray.logs(run.submissionId) : '';
    return ok('run logs', { run_id: run.id, submission_id: run.submissionId, logs });
  }

  @Post('runs/:id/stop')
  @HttpCode(HttpStatus.OK)
  async stopRun(@Param('id') id: string) {
    const run = await this.training.stop(parseOr400(uuidParam, id, 'path', 'id'));
    return ok(`run ${run.id} stopped`, { run: runJson(run) });
  }

  @Get('events')
  async listEvents(@Query() query: unknown) {
    const q = parseOr400(eventsQuery, query, 'query');
    const events = await this.events.list({ afterSeq: q.after, limit: q.limit, type: q.type });
    return ok(`${events.length} events`, { events: events.map(eventJson), next_after: events.at(-1)?.seq ?? q.after });
  }

  @Get('examples')
  async listExamples(@Query() query: unknown) {
    const q = parseOr400(examplesQuery, query, 'query');
    const examples = await this.dataset.list({ state: q.state, version: q.dataset_version, limit: q.limit, offset: q.offset });
    return ok(`${examples.length} examples`, { examples: examples.map(exampleJson) });
  }

  @Delete('examples/:id')
  async deleteExample(@Param('id') id: string) {
    const removed = await this.dataset.delete(parseOr400(uuidParam, id, 'path', 'id'));
    if (!removed) throw new NotFoundError(`example ${id} does not exist`);
    await this.events.append('example.deleted', removed.id, { dataset_version: removed.datasetVersion, backed_up: true });
    return ok(`example ${removed.id} deleted (a copy is kept in deleted_examples)`, { example: exampleJson(removed) });
  }

  /** The dataset a training job downloads: JSON Lines, one chat example per line. */
  @Get('datasets/:version/examples.jsonl')
  async datasetJsonl(@Param('version') version: string, @Res() res: Response): Promise<void> {
    const v = parseOr400(versionParam, version, 'path', 'version');
    const examples = await this.dataset.versionExamples(v);
    if (!examples) throw new NotFoundError(`dataset version ${v} does not exist`);
    res.type('application/x-ndjson').send(examples.map((e) => `${exampleJsonl(e)}\n`).join(''));
  }

  private async updateSettings(body: unknown) {
    const result = await this.settings.update(body);
    if (!result.ok) throw invalid('invalid settings', result.errors);
    return ok('settings updated', { settings: result.settings });
  }

  private async findRun(id: string) {
    const run = await this.runs.find(parseOr400(uuidParam, id, 'path', 'id'));
    if (!run) throw new NotFoundError(`run ${id} does not exist`);
    return run;
  }
}
