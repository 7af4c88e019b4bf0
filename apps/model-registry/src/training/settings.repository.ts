import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TrainingSettings, withDefaults } from './settings';

const KEY = 'training';

/** Runtime settings live in PostgreSQL, so every replica and every restart sees the same values. */
@Injectable()
export class SettingsRepository {
  constructor(private readonly ds: DataSource) {}

  async get(): Promise<TrainingSettings> {
    const rows = await this.ds.query<{ value: unknown }[]>(`SELECT value FROM settings WHERE key = $1`, [KEY]);
    return withDefaults(rows[0]?.value);
  }

  async save(settings: TrainingSettings): Promise<void> {
    await this.ds.query(
      `INSERT INTO settings (key, value) VALUES ($1, $2::jsonb) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
      [KEY, JSON.stringify(settings)],
    );
  }
}
