import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EventLogRepository } from '../events/event-log.repository';
import { DATASET_SIGNATURE_PARAM, datasetSignature } from '../http/admin-auth';
import { AdaptersRepository } from './adapters.repository';
import { AdaptersService } from './adapters.service';
import { DatasetRepository } from './dataset.repository';
import { ConflictError, NotFoundError } from './errors';
import { metricsFromLogs, RayJobsClient } from './ray-jobs.client';
import { RunsRepository, TrainingRun } from './runs.repository';
import { TrainingSettings } from './settings';
import { SettingsRepository } from './settings.repository';
import { TrainingMetrics } from './training.metrics';
import { WebhookNotice, WebhookSender } from './webhooks';

export const TRAINING_OPTIONS = Symbol('TRAINING_OPTIONS');

export interface TrainingOptions {
  pollMs: number;
  entrypoint: string;
  runtimeEnv: Record<string, unknown>;
  numGpus: number;
  outputDir: string;
  /** Base URL of this service's admin REST as the Ray workers reach it. */
  publicUrl: string;
  /** Signs the dataset link, so the job can download its version without the admin token. */
  datasetSigningKey: string;
}

const UNIQUE_VIOLATION = '23505';
const LOG_TAIL_CHARS = 2_000;

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The improvement loop's scheduler. Every N accepted examples (auto) or on demand it snapshots
 * all pending examples into a dataset version and submits a LoRA training job to Ray; it polls
 * the job, retries a failed one up to max_retries, registers the adapter of a successful one
 * and announces the outcome. One run at a time (a unique index holds it even across replicas);
 * examples that arrive meanwhile stay pending and coalesce into the next run.
 */
@Injectable()
export class TrainingService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TrainingService.name);
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Ticks, triggers and operator actions run one after another in this process. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly deliveries = new Set<Promise<void>>();

  constructor(
    private readonly ds: DataSource,
    private readonly dataset: DatasetRepository,
    private readonly runs: RunsRepository,
    private readonly adapters: AdaptersRepository,
    private readonly adapterService: AdaptersService,
    private readonly settings: SettingsRepository,
    private readonly ray: RayJobsClient,
    private readonly events: EventLogRepository,
    private readonly webhooks: WebhookSender,
    private readonly metrics: TrainingMetrics,
    @Inject(TRAINING_OPTIONS) private readonly opts: TrainingOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.metrics.refresh(await this.adapters.lastPromotion());
    this.schedule();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.chain.catch(() => undefined);
    await Promise.all(this.deliveries);
  }

  /** Called after an example is accepted: starts a run when auto is on and N are waiting. */
  afterExampleAccepted(): Promise<TrainingRun | null> {
    return this.exclusive(() => this.maybeStart());
  }

  /** "Start a run now" (admin): needs pending examples and no active run. */
  startNow(): Promise<TrainingRun> {
    return this.exclusive(() => this.start('manual'));
  }

  stop(runId: string): Promise<TrainingRun> {
    return this.exclusive(async () => {
      const run = await this.runs.find(runId);
      if (!run) throw new NotFoundError(`run ${runId} does not exist`);
      if (run.status !== 'submitted' && run.status !== 'running') throw new ConflictError(`run ${runId} is ${run.status}, not active`);
      if (run.submissionId) await this.ray.stop(run.submissionId);
      return this.finish(run, 'stopped', 'stopped by an operator');
    });
  }

  /** One poll of the active run (or a check of the auto trigger when there is none). */
  tick(): Promise<void> {
    return this.exclusive(async () => {
      this.metrics.refresh();
      this.metrics.setPending((await this.dataset.countPending()).count);
      const run = await this.runs.active();
      if (!run) {
        await this.maybeStart();
        return;
      }
      await this.poll(run);
    });
  }

  private async maybeStart(): Promise<TrainingRun | null> {
    const settings = await this.settings.get();
    if (!settings.auto_train || settings.base_model === '') return null;
    const pending = await this.dataset.countPending();
    this.metrics.setPending(pending.count);
    if (pending.count < settings.examples_per_run || (await this.runs.active())) return null;
    // After a final failure the same examples would fail again: wait for new ones (or a manual start).
    const lastFailure = await this.runs.lastFailure();
    if (lastFailure && pending.newest && pending.newest <= lastFailure) return null;
    return this.start('auto');
  }

  private async start(trigger: 'auto' | 'manual'): Promise<TrainingRun> {
    const settings = await this.settings.get();
    if (settings.base_model === '') throw new ConflictError('settings.base_model is not set: which model should the adapter be trained for?');
    let run: TrainingRun;
    try {
      run = await this.ds.transaction(async (m) => {
        const snapshot = await this.dataset.snapshotPending(m);
        if (!snapshot) throw new ConflictError('there are no pending examples to train on');
        return this.runs.create(m, { datasetVersion: snapshot.version, baseModel: settings.base_model, trigger });
      });
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) throw new ConflictError('a training run is already active');
      throw err;
    }
    await this.events.append('training.run.started', run.id, { dataset_version: run.datasetVersion, base_model: run.baseModel, trigger });
    this.logger.log(`training run ${run.id} started (${trigger}) on dataset v${run.datasetVersion}`);
    return this.submit(run, settings);
  }

  private datasetUrl(version: number): string {
    const signature = datasetSignature(this.opts.datasetSigningKey, version);
    return `${this.opts.publicUrl.replace(/\/+$/u, '')}/v1/admin/datasets/${version}/examples.jsonl?${DATASET_SIGNATURE_PARAM}=${signature}`;
  }

  private async submit(run: TrainingRun, settings: TrainingSettings): Promise<TrainingRun> {
    const submissionId = `ragmesh-train-${run.id}-a${run.attempt}`;
    const hp = settings.hyperparameters;
    const entrypoint = [
      this.opts.entrypoint,
      `--base-model ${shellQuote(run.baseModel)}`,
      `--dataset-url ${shellQuote(this.datasetUrl(run.datasetVersion))}`,
      `--output-dir ${shellQuote(`${this.opts.outputDir.replace(/\/+$/u, '')}/${run.id}`)}`,
      `--epochs ${hp.epochs} --learning-rate ${hp.learning_rate} --lora-r ${hp.lora_r} --lora-alpha ${hp.lora_alpha}`,
    ].join(' ');
    try {
      await this.ray.submit({
        submissionId,
        entrypoint,
        runtimeEnv: this.opts.runtimeEnv,
        numGpus: this.opts.numGpus,
        metadata: { run_id: run.id, dataset_version: String(run.datasetVersion), attempt: String(run.attempt) },
      });
    } catch (err) {
      return this.failAttempt(run, `submit failed: ${errorText(err)}`, settings);
    }
    return this.runs.update(run.id, { submissionId, startedAt: run.startedAt ?? new Date(), lastError: run.lastError });
  }

  private async poll(run: TrainingRun): Promise<void> {
    if (!run.submissionId) {
      await this.submit(run, await this.settings.get());
      return;
    }
    let info;
    try {
      info = await this.ray.status(run.submissionId);
    } catch (err) {
      // The cluster may be briefly unreachable; the run stays active and is polled again.
      this.logger.warn(`polling run ${run.id}: ${errorText(err)}`);
      return;
    }
    if (info.status === 'RUNNING' && run.status === 'submitted') await this.runs.update(run.id, { status: 'running' });
    if (info.status === 'SUCCEEDED') await this.succeed(run);
    if (info.status === 'FAILED' || info.status === 'STOPPED') {
      const tail = await this.ray.logs(run.submissionId).then((l) => l.slice(-LOG_TAIL_CHARS).trim(), () => '');
      await this.failAttempt(run, `Ray job ${info.status}: ${info.message ?? 'no message'}${tail ? `\n${tail}` : ''}`, await this.settings.get());
    }
  }

  private async succeed(run: TrainingRun): Promise<void> {
    const logs = await this.ray.logs(run.submissionId ?? '').catch(() => '');
    const metrics = metricsFromLogs(logs) ?? {};
    const settings = await this.settings.get();
    const finished = await this.ds.transaction(async (m) => {
      const adapter = await this.adapters.register(m, {
        namePrefix: settings.adapter_name,
        baseModel: run.baseModel,
        path: `${this.opts.outputDir.replace(/\/+$/u, '')}/${run.id}`,
        runId: run.id,
        datasetVersion: run.datasetVersion,
        metrics,
      });
      await this.dataset.settleVersion(run.datasetVersion, true, m);
      const updated = await this.runs.update(run.id, { status: 'succeeded', metrics, adapterId: adapter.id, finishedAt: new Date() }, m);
      return { adapter, updated };
    });
    const { adapter, updated } = finished;
    this.metrics.run('succeeded', durationSeconds(updated));
    await this.events.append('training.run.succeeded', run.id, { adapter: adapter.name, version: adapter.version, dataset_version: run.datasetVersion, metrics });
    await this.events.append('adapter.registered', adapter.name, { version: adapter.version, base_model: adapter.baseModel, run_id: run.id, dataset_version: run.datasetVersion, metrics });
    this.logger.log(`training run ${run.id} succeeded: adapter ${adapter.name}`);
    this.notify(settings, {
      event: 'training.run.succeeded',
      runId: run.id,
      success: true,
      title: `Training run succeeded: adapter ${adapter.name} for ${adapter.baseModel}`,
      fields: { adapter: adapter.name, version: String(adapter.version), dataset_version: String(run.datasetVersion), attempts: String(run.attempt), metrics: JSON.stringify(metrics) },
    });
    await this.afterRegistration(adapter.id, settings);
  }

  private async afterRegistration(adapterId: string, settings: TrainingSettings): Promise<void> {
    try {
      const adapter = await this.adapterService.get(adapterId);
      if (settings.auto_promote) await this.adapterService.promote(adapter);
      else if (settings.auto_load) await this.adapterService.load(adapter);
    } catch (err) {
      // The adapter is registered either way; the outcome is in the event log and the model status.
      this.logger.warn(`adapter ${adapterId} after registration: ${errorText(err)}`);
    }
  }

  private async failAttempt(run: TrainingRun, reason: string, settings: TrainingSettings): Promise<TrainingRun> {
    if (run.attempt <= settings.max_retries) {
      this.metrics.run('retried');
      const retried = await this.runs.update(run.id, { attempt: run.attempt + 1, lastError: reason, submissionId: null });
      await this.events.append('training.run.retried', run.id, { attempt: retried.attempt, reason });
      this.logger.warn(`training run ${run.id} attempt ${run.attempt} failed, retrying: ${reason}`);
      return this.submit(retried, settings);
    }
    const failed = await this.finish(run, 'failed', reason);
    this.notify(settings, {
      event: 'training.run.failed',
      runId: run.id,
      success: false,
      title: `Training run failed after ${run.attempt} attempt(s)`,
      fields: { dataset_version: String(run.datasetVersion), base_model: run.baseModel, attempts: String(run.attempt), error: reason.slice(0, 500) },
    });
    return failed;
  }

  /** A run that ends without an adapter gives its examples back: they join the next run. */
  private async finish(run: TrainingRun, status: 'failed' | 'stopped', reason: string): Promise<TrainingRun> {
    const updated = await this.ds.transaction(async (m) => {
      await this.dataset.settleVersion(run.datasetVersion, false, m);
      return this.runs.update(run.id, { status, lastError: reason, finishedAt: new Date() }, m);
    });
    this.metrics.run(status, durationSeconds(updated));
    await this.events.append(`training.run.${status}`, run.id, { attempts: run.attempt, dataset_version: run.datasetVersion, reason });
    this.logger.warn(`training run ${run.id} ${status}: ${reason}`);
    return updated;
  }

  private notify(settings: TrainingSettings, notice: WebhookNotice): void {
    if (!this.webhooks.enabled) return;
    for (const target of settings.webhooks) {
      const delivery = this.webhooks.deliver(target, notice).then(async (outcome) => {
        this.metrics.webhook(outcome.delivered);
        await this.events.append(outcome.delivered ? 'webhook.delivered' : 'webhook.failed', notice.runId, {
          url: outcome.url,
          event: notice.event,
          attempts: outcome.attempts,
          error: outcome.lastError,
        });
      });
      const tracked = delivery.catch((err: unknown) => this.logger.error(`webhook ${target.url}: ${errorText(err)}`));
      this.deliveries.add(tracked);
      void tracked.finally(() => this.deliveries.delete(tracked));
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.tick()
        .catch((err: unknown) => this.logger.error(`training tick failed: ${errorText(err)}`))
        .finally(() => this.schedule());
    }, this.opts.pollMs);
  }
}

function durationSeconds(run: TrainingRun): number | undefined {
  if (!run.finishedAt) return undefined;
  return (run.finishedAt.getTime() - (run.startedAt ?? run.createdAt).getTime()) / 1000;
}

/** Entrypoints are shell command lines on the Ray head; values are quoted so a model id cannot inject. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/gu, `'\\''`)}'`;
}
