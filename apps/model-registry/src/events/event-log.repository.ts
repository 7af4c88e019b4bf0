import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export interface RegistryEvent {
  seq: number;
  type: string;
  subject: string;
  data: Record<string, unknown>;
  at: Date;
}

export interface EventQuery {
  /** Events with a sequence number above this (paging forward). */
  afterSeq?: number;
  type?: string;
  limit: number;
}

interface Row {
  seq: string;
  type: string;
  subject: string;
  data: Record<string, unknown>;
  at: Date;
}

/** The append-only event log (a trigger rejects UPDATE and DELETE). */
export abstract class EventLogRepository {
  /** `messageId` makes the append idempotent (a redelivered message is recorded once); false when it was already there. */
  abstract append(type: string, subject: string, data: Record<string, unknown>, opts?: { messageId?: string; manager?: EntityManager }): Promise<boolean>;
  abstract list(query: EventQuery): Promise<RegistryEvent[]>;
}

@Injectable()
export class PgEventLogRepository extends EventLogRepository {
  constructor(private readonly ds: DataSource) {
    super();
  }

  async append(type: string, subject: string, data: Record<string, unknown>, opts: { messageId?: string; manager?: EntityManager } = {}): Promise<boolean> {
    const rows = await (opts.manager ?? this.ds.manager).query<unknown[]>(
      `INSERT INTO registry_events (message_id, type, subject, data) VALUES ($1, $2, $3, $4::jsonb)
       ON CONFLICT (message_id) DO NOTHING RETURNING seq`,
      [opts.messageId ?? null, type, subject, JSON.stringify(data)],
    );
    return rows.length > 0;
  }

  async list(query: EventQuery): Promise<RegistryEvent[]> {
    const rows = await this.ds.query<Row[]>(
      `SELECT seq, type, subject, data, at FROM registry_events
       WHERE seq > $1 AND ($2::text IS NULL OR type = $2) ORDER BY seq LIMIT $3`,
      [query.afterSeq ?? 0, query.type ?? null, query.limit],
    );
    return rows.map((r) => ({ seq: Number(r.seq), type: r.type, subject: r.subject, data: r.data, at: r.at }));
  }
}
