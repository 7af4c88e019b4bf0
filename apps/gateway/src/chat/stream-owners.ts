import { Inject, Injectable } from '@nestjs/common';
import { serviceToken } from '@ragmesh/contracts';
import type { Request, Response } from 'express';
import { APP_CONFIG, type AppConfig } from '../config';
import { ReplicaDirectory, type ReplicaEntry } from './replica-directory.repository';
import { FORWARDED_BY_HEADER, StreamForwarder } from './stream-forwarder';

export type StreamOwnersConfig = Pick<AppConfig, 'GATEWAY_REPLICA_ID' | 'GATEWAY_REPLICA_HEARTBEAT_MS'>;

/** A replica that missed this many heartbeats in a row counts as gone. */
export const MISSED_HEARTBEATS_BEFORE_GONE = 3;

export const liveWindowMs = (config: Pick<AppConfig, 'GATEWAY_REPLICA_HEARTBEAT_MS'>): number =>
  config.GATEWAY_REPLICA_HEARTBEAT_MS * MISSED_HEARTBEATS_BEFORE_GONE;

export type ResumeRoute =
  | { kind: 'local' }
  | { kind: 'forward'; owner: string; internalUrl: string }
  /** The id names a replica the directory never had (or pruned a day after it went): 404. */
  | { kind: 'owner-unknown'; owner: string }
  /** The replica stopped or stopped heartbeating: its streams went with it, 410. */
  | { kind: 'owner-gone'; owner: string };

export const LOCAL_ROUTE: ResumeRoute = { kind: 'local' };

/**
 * Served here: an old-format id (no owner), this replica's own id, or a request another replica
 * already forwarded (forwarding twice could loop between replicas that disagree on an address).
 * Everything else goes by the owner's directory entry.
 */
export function needsOwner(owner: string | undefined, here: string, forwardedBy: string | undefined): owner is string {
  return owner !== undefined && owner !== here && forwardedBy === undefined;
}

export function routeToOwner(owner: string, entry: ReplicaEntry | undefined): ResumeRoute {
  if (!entry) return { kind: 'owner-unknown', owner };
  if (!entry.live) return { kind: 'owner-gone', owner };
  return { kind: 'forward', owner, internalUrl: entry.internalUrl };
}

const headerValue = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** Finds which replica holds a stream and relays resumes to it (README "Resume"). */
@Injectable()
export class StreamOwners {
  private readonly token = serviceToken();

  constructor(
    private readonly directory: ReplicaDirectory,
    private readonly forwarder: StreamForwarder,
    @Inject(APP_CONFIG) private readonly config: StreamOwnersConfig,
  ) {}

  get here(): string {
    return this.config.GATEWAY_REPLICA_ID;
  }

  /** One directory read, and only for another replica's stream. */
  async route(owner: string | undefined, req: Pick<Request, 'headers'>): Promise<ResumeRoute> {
    if (!needsOwner(owner, this.here, headerValue(req.headers[FORWARDED_BY_HEADER]))) return LOCAL_ROUTE;
    return routeToOwner(owner, await this.directory.find(owner, liveWindowMs(this.config)));
  }

  forward(internalUrl: string, req: Pick<Request, 'method' | 'originalUrl' | 'headers'>, res: Response): Promise<void> {
    return this.forwarder.forward(
      { baseUrl: internalUrl, method: req.method, path: req.originalUrl, headers: req.headers, forwardedBy: this.here, serviceToken: this.token },
      res,
    );
  }
}
