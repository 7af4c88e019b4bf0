import { Injectable } from '@nestjs/common';
import { LOCAL_UPSTREAM_NAME, RegisterUpstreamCommand } from './upstream.schemas';
import { UpstreamRecord, UpstreamRepository } from './upstream.repository';

export interface ModelView {
  id: string;
  ownedBy: string;
  upstream: string;
  kind: string;
}

@Injectable()
export class RegisterUpstreamUseCase {
  constructor(private readonly upstreams: UpstreamRepository) {}

  /** Idempotent by name: registering again replaces the entry, which the watcher re-checks. */
  execute(command: RegisterUpstreamCommand): Promise<UpstreamRecord> {
    return this.upstreams.upsert({ ...command, status: 'unknown' });
  }
}

@Injectable()
export class ListUpstreamsUseCase {
  constructor(private readonly upstreams: UpstreamRepository) {}

  execute(): Promise<UpstreamRecord[]> {
    return this.upstreams.list();
  }
}

@Injectable()
export class ListModelsUseCase {
  constructor(private readonly upstreams: UpstreamRepository) {}

  /** Models that can be served now: the local engine's and those of every upstream that is up. */
  async execute(): Promise<ModelView[]> {
    const all = await this.upstreams.list();
    // Local first, so clients that pick "the first model" get one that always works.
    const ordered = [...all.filter((u) => u.name === LOCAL_UPSTREAM_NAME), ...all.filter((u) => u.name !== LOCAL_UPSTREAM_NAME)];
    return ordered
      .filter((u) => u.status === 'up')
      .flatMap((u) => u.models.map((id) => ({ id, ownedBy: u.name, upstream: u.name, kind: u.kind })));
  }
}
