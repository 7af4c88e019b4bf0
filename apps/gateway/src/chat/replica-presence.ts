import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config';
import { REPLICA_ROWS_KEPT_MS, ReplicaDirectory } from './replica-directory.repository';

export type ReplicaPresenceConfig = Pick<AppConfig, 'GATEWAY_REPLICA_ID' | 'GATEWAY_INTERNAL_URL' | 'GATEWAY_REPLICA_HEARTBEAT_MS'>;

/**
 * Keeps this replica's row in the directory: upserted at start and every
 * GATEWAY_REPLICA_HEARTBEAT_MS, marked stopped on shutdown. Stopping happens after the HTTP drain
 * (Nest's shutdown hooks run from app.close()), so resumes forwarded here are served until then.
 */
@Injectable()
export class ReplicaPresence implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('replicas');
  private timer: NodeJS.Timeout | undefined;
  private beat: Promise<void> = Promise.resolve();

  constructor(
    private readonly directory: ReplicaDirectory,
    @Inject(APP_CONFIG) private readonly config: ReplicaPresenceConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { GATEWAY_REPLICA_ID: id, GATEWAY_INTERNAL_URL: url } = this.config;
    await this.directory.prune(REPLICA_ROWS_KEPT_MS);
    await this.directory.announce(id, url);
    this.logger.log({ replica: id, internalUrl: url }, 'replica announced');
    this.timer = setInterval(() => {
      this.beat = this.heartbeat();
    }, this.config.GATEWAY_REPLICA_HEARTBEAT_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    // A heartbeat still in flight would clear the stopped mark written below.
    await this.beat;
    try {
      await this.directory.withdraw(this.config.GATEWAY_REPLICA_ID);
    } catch (err) {
      // Other replicas then see the row go stale within 3 heartbeats.
      this.logger.warn(`replica not marked stopped: ${String(err)}`);
    }
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.directory.announce(this.config.GATEWAY_REPLICA_ID, this.config.GATEWAY_INTERNAL_URL);
    } catch (err) {
      this.logger.warn(`replica heartbeat failed: ${String(err)}`);
    }
  }
}
