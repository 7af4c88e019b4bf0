import { Injectable } from '@nestjs/common';
import { OutboundHttpClient } from '@ragmesh/outbound';
import { EventLogRepository } from '../events/event-log.repository';
import { applySettingsPatch, FieldError, TrainingSettings } from './settings';
import { SettingsRepository } from './settings.repository';

export type SettingsUpdate = { ok: true; settings: TrainingSettings } | { ok: false; errors: FieldError[] };

@Injectable()
export class SettingsUseCase {
  constructor(
    private readonly repo: SettingsRepository,
    private readonly outbound: OutboundHttpClient,
    private readonly events: EventLogRepository,
  ) {}

  get(): Promise<TrainingSettings> {
    return this.repo.get();
  }

  /** Validates the merged result, then checks every webhook URL against the outbound policy now, not at the first delivery. */
  async update(patch: unknown): Promise<SettingsUpdate> {
    const current = await this.repo.get();
    const merged = applySettingsPatch(current, patch);
    if (!merged.ok) return merged;
    const errors: FieldError[] = [];
    for (const [i, hook] of merged.value.webhooks.entries()) {
      await this.outbound.assertAllowed(hook.url).catch((err: unknown) => errors.push({ field: `webhooks[${i}].url`, reason: err instanceof Error ? err.message : String(err) }));
    }
    if (errors.length > 0) return { ok: false, errors };
    await this.repo.save(merged.value);
    const changed = Object.keys(patch as object);
    await this.events.append('settings.updated', 'training', { changed });
    return { ok: true, settings: merged.value };
  }
}
