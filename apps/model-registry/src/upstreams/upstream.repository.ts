import { Injectable } from '@nestjs/common';
import { DataSource, Not, Repository } from 'typeorm';
import { UpstreamEntity, UpstreamKind, UpstreamStatus } from '../persistence/upstream.entity';

export interface UpstreamRecord {
  id: string;
  name: string;
  baseUrl: string;
  kind: UpstreamKind;
  models: string[];
  status: UpstreamStatus;
  lastError: string | null;
  checkedAt: Date | null;
  weight: number;
  maxConcurrency: number;
  labels: string[];
  updatedAt: Date;
}

export interface UpstreamUpsert {
  name: string;
  baseUrl: string;
  kind: UpstreamKind;
  models: string[];
  status: UpstreamStatus;
  weight?: number;
  maxConcurrency?: number;
  labels?: string[];
}

export type UpstreamChanges = Partial<Pick<UpstreamRecord, 'baseUrl' | 'kind' | 'models' | 'weight' | 'maxConcurrency' | 'labels'>>;

export interface ProbeOutcome {
  status: 'up' | 'down';
  /** Replaces the stored list when present (only a successful probe knows the models). */
  models?: string[];
  lastError: string | null;
  checkedAt: Date;
}

/** Where upstreams are stored; abstract so use-cases and tests do not depend on TypeORM. */
export abstract class UpstreamRepository {
  abstract list(): Promise<UpstreamRecord[]>;
  /** Insert or replace by name; a replaced upstream starts over as unchecked. */
  abstract upsert(upstream: UpstreamUpsert): Promise<UpstreamRecord>;
  abstract listProbeTargets(): Promise<UpstreamRecord[]>;
  abstract recordProbe(id: string, outcome: ProbeOutcome): Promise<void>;
  /** Null when no upstream has this name. A changed URL or kind starts over as unchecked. */
  abstract update(name: string, changes: UpstreamChanges): Promise<UpstreamRecord | null>;
  abstract remove(name: string): Promise<UpstreamRecord | null>;
}

const toRecord = (e: UpstreamEntity): UpstreamRecord => ({
  id: e.id,
  name: e.name,
  baseUrl: e.baseUrl,
  kind: e.kind,
  models: e.models,
  status: e.status,
  lastError: e.lastError,
  checkedAt: e.checkedAt,
  weight: e.weight,
  maxConcurrency: e.maxConcurrency,
  labels: e.labels,
  updatedAt: e.updatedAt,
});

@Injectable()
export class TypeOrmUpstreamRepository extends UpstreamRepository {
  private readonly repo: Repository<UpstreamEntity>;

  constructor(dataSource: DataSource) {
    super();
    this.repo = dataSource.getRepository(UpstreamEntity);
  }

  async list(): Promise<UpstreamRecord[]> {
    return (await this.repo.find({ order: { name: 'ASC' } })).map(toRecord);
  }

  async upsert(upstream: UpstreamUpsert): Promise<UpstreamRecord> {
    await this.repo
      .createQueryBuilder()
      .insert()
      .into(UpstreamEntity)
      .values({ weight: 1, maxConcurrency: 0, labels: [], ...upstream, lastError: null, checkedAt: null, updatedAt: new Date() })
      .orUpdate(['base_url', 'kind', 'models', 'status', 'last_error', 'checked_at', 'weight', 'max_concurrency', 'labels', 'updated_at'], ['name'])
      .execute();
    return toRecord(await this.repo.findOneByOrFail({ name: upstream.name }));
  }

  async listProbeTargets(): Promise<UpstreamRecord[]> {
    return (await this.repo.find({ where: { kind: Not('local' as const) }, order: { name: 'ASC' } })).map(toRecord);
  }

  async recordProbe(id: string, outcome: ProbeOutcome): Promise<void> {
    await this.repo.update(id, {
      status: outcome.status,
      lastError: outcome.lastError,
      checkedAt: outcome.checkedAt,
      ...(outcome.models ? { models: outcome.models } : {}),
    });
  }

  async update(name: string, changes: UpstreamChanges): Promise<UpstreamRecord | null> {
    const current = await this.repo.findOneBy({ name });
    if (!current) return null;
    const moved = (changes.baseUrl !== undefined && changes.baseUrl !== current.baseUrl) || (changes.kind !== undefined && changes.kind !== current.kind);
    await this.repo.update(current.id, { ...changes, updatedAt: new Date(), ...(moved ? { status: 'unknown' as const, lastError: null, checkedAt: null } : {}) });
    return toRecord(await this.repo.findOneByOrFail({ id: current.id }));
  }

  async remove(name: string): Promise<UpstreamRecord | null> {
    const current = await this.repo.findOneBy({ name });
    if (!current) return null;
    await this.repo.delete(current.id);
    return toRecord(current);
  }
}
