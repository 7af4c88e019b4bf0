import { Injectable } from '@nestjs/common';
import { UpstreamFeed } from './upstream-feed';
import { LOCAL_UPSTREAM_NAME, RegisterUpstreamCommand, UpdateUpstreamCommand } from './upstream.schemas';
import { UpstreamRecord, UpstreamRepository } from './upstream.repository';

export class UnknownUpstreamError extends Error {
  constructor(readonly upstreamName: string) {
    super(`upstream "${upstreamName}" does not exist`);
  }
}

export interface ModelView {
  id: string;
  ownedBy: string;
  upstream: string;
  kind: string;
}

@Injectable()
export class RegisterUpstreamUseCase {
  constructor(
    private readonly upstreams: UpstreamRepository,
    private readonly feed: UpstreamFeed,
  ) {}

  /** Idempotent by name: registering again replaces the entry, which the watcher re-checks. */
  async execute(command: RegisterUpstreamCommand): Promise<UpstreamRecord> {
    const upstream = await this.upstreams.upsert({ ...command, status: 'unknown' });
    this.feed.publish('upserted', upstream);
    return upstream;
  }
}

@Injectable()
export class UpdateUpstreamUseCase {
  constructor(
    private readonly upstreams: UpstreamRepository,
    private readonly feed: UpstreamFeed,
  ) {}

  async execute(command: UpdateUpstreamCommand): Promise<UpstreamRecord> {
    const { name, ...changes } = command;
    const upstream = await this.upstreams.update(name, changes);
    if (!upstream) throw new UnknownUpstreamError(name);
    this.feed.publish('upserted', upstream);
    return upstream;
  }
}

@Injectable()
export class RemoveUpstreamUseCase {
  constructor(
    private readonly upstreams: UpstreamRepository,
    private readonly feed: UpstreamFeed,
  ) {}

  async execute(name: string): Promise<UpstreamRecord> {
    const removed = await this.upstreams.remove(name);
    if (!removed) throw new UnknownUpstreamError(name);
    this.feed.publish('removed', removed);
    return removed;
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
