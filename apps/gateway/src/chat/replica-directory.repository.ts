import { Inject, Injectable } from '@nestjs/common';
import { DATA_SOURCE } from '@ragmesh/persistence';
import type { DataSource } from 'typeorm';

export interface ReplicaEntry {
  id: string;
  internalUrl: string;
  /** Not stopped, and seen within the liveness window (judged by PostgreSQL's clock, the one every replica writes with). */
  live: boolean;
}

/** Rows of replicas gone for this long are deleted: their streams expired long before. */
export const REPLICA_ROWS_KEPT_MS = 24 * 60 * 60 * 1000;

/** The gateway replicas, where they answer and whether they still run (the gateway.replicas table). */
export abstract class ReplicaDirectory {
  /** Upserts the replica as running and seen now. */
  abstract announce(id: string, internalUrl: string): Promise<void>;
  /** Marks the replica stopped: a resume naming it gets 410 at once instead of a failed forward. */
  abstract withdraw(id: string): Promise<void>;
  abstract find(id: string, liveWithinMs: number): Promise<ReplicaEntry | undefined>;
  /** Deletes the rows of replicas not seen for `olderThanMs`. */
  abstract prune(olderThanMs: number): Promise<void>;
}

@Injectable()
export class PgReplicaDirectory extends ReplicaDirectory {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {
    super();
  }

  async announce(id: string, internalUrl: string): Promise<void> {
    await this.ds.query(
      `INSERT INTO gateway.replicas (id, internal_url) VALUES ($1, $2)
       ON CONFLICT (id) DO UPDATE SET internal_url = EXCLUDED.internal_url, last_seen_at = now(), stopped_at = NULL`,
      [id, internalUrl],
    );
  }

  async withdraw(id: string): Promise<void> {
    await this.ds.query(`UPDATE gateway.replicas SET stopped_at = now() WHERE id = $1`, [id]);
  }

  async find(id: string, liveWithinMs: number): Promise<ReplicaEntry | undefined> {
    const rows = await this.ds.query<{ internal_url: string; live: boolean }[]>(
      `SELECT internal_url, (stopped_at IS NULL AND last_seen_at > now() - make_interval(secs => $2::double precision / 1000)) AS live
       FROM gateway.replicas WHERE id = $1`,
      [id, liveWithinMs],
    );
    const row = rows[0];
    return row ? { id, internalUrl: row.internal_url, live: row.live } : undefined;
  }

  async prune(olderThanMs: number): Promise<void> {
    await this.ds.query(`DELETE FROM gateway.replicas WHERE last_seen_at < now() - make_interval(secs => $1::double precision / 1000)`, [olderThanMs]);
  }
}
