import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { LOCAL_ENGINE_MODEL, LOCAL_SUMMARIZER_MODEL } from '@ragmesh/llm';
import { DEFAULT_UPSTREAM_NAME, LOCAL_UPSTREAM_NAME, normalizeBaseUrl } from './upstream.schemas';
import { UpstreamRepository } from './upstream.repository';

export const SEED_OPTIONS = Symbol('SEED_OPTIONS');

export interface SeedOptions {
  /** GENERATION_UPSTREAM_URL: registered as "default" when set. */
  defaultUpstreamUrl?: string;
}

/** In-process engines have no URL to probe; the entry records what they serve. */
export const LOCAL_BASE_URL = 'local://generation-proxy';

/** Runs before the watcher's first check (module init precedes application bootstrap). */
@Injectable()
export class UpstreamSeeder implements OnModuleInit {
  private readonly logger = new Logger(UpstreamSeeder.name);

  constructor(
    private readonly upstreams: UpstreamRepository,
    @Inject(SEED_OPTIONS) private readonly opts: SeedOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.upstreams.upsert({
      name: LOCAL_UPSTREAM_NAME,
      baseUrl: LOCAL_BASE_URL,
      kind: 'local',
      models: [LOCAL_ENGINE_MODEL, LOCAL_SUMMARIZER_MODEL],
      status: 'up',
    });
    if (this.opts.defaultUpstreamUrl) {
      const baseUrl = normalizeBaseUrl(this.opts.defaultUpstreamUrl);
      await this.upstreams.upsert({ name: DEFAULT_UPSTREAM_NAME, baseUrl, kind: 'openai-compatible', models: [], status: 'unknown' });
      this.logger.log(`seeded upstream "${DEFAULT_UPSTREAM_NAME}" at ${baseUrl}`);
    }
  }
}
