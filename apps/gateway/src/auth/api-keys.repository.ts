import { Inject, Injectable } from '@nestjs/common';
import { DATA_SOURCE } from '@ragmesh/persistence';
import type { DataSource } from 'typeorm';
import { generateApiKey, hashApiKey, keyPrefix, type Scope } from './api-key';

export interface ApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  tenant: string;
  scopes: Scope[];
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
}

export interface NewApiKey {
  name: string;
  tenant: string;
  scopes: Scope[];
  expiresAt?: Date | null;
}

interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  tenant: string;
  scopes: Scope[];
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  created_at: Date;
}

const COLUMNS = 'id, name, prefix, tenant, scopes, expires_at, revoked_at, last_used_at, created_at';
/**
 * last_used_at is written at most this often per key, so a busy key costs no write per request: each process
 * skips the UPDATE in memory (ApiKeyLookup), and the WHERE below keeps several replicas from each writing it.
 */
export const LAST_USED_RESOLUTION_MS = 60_000;

const toRecord = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  tenant: r.tenant,
  scopes: r.scopes,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
  createdAt: r.created_at,
});

/** gateway.api_keys: the secret is returned once by create() and only its SHA-256 is kept. */
@Injectable()
export class ApiKeysRepository {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}

  async create(input: NewApiKey, key = generateApiKey()): Promise<{ key: string; record: ApiKeyRecord }> {
    const rows = await this.ds.query<ApiKeyRow[]>(
      `INSERT INTO gateway.api_keys (name, prefix, hash, tenant, scopes, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [input.name, keyPrefix(key), hashApiKey(key), input.tenant, input.scopes, input.expiresAt ?? null],
    );
    return { key, record: toRecord(rows[0]) };
  }

  /** Idempotent, safe when several replicas start at once: the key exists afterwards, whoever inserted it. */
  async ensure(key: string, input: NewApiKey): Promise<void> {
    await this.ds.query(
      `INSERT INTO gateway.api_keys (name, prefix, hash, tenant, scopes, expires_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hash) DO NOTHING`,
      [input.name, keyPrefix(key), hashApiKey(key), input.tenant, input.scopes, input.expiresAt ?? null],
    );
  }

  findByKey(key: string): Promise<ApiKeyRecord | null> {
    return this.findByHash(hashApiKey(key));
  }

  async findByHash(hash: string): Promise<ApiKeyRecord | null> {
    const rows = await this.ds.query<ApiKeyRow[]>(`SELECT ${COLUMNS} FROM gateway.api_keys WHERE hash = $1`, [hash]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async findById(id: string): Promise<ApiKeyRecord | null> {
    const rows = await this.ds.query<ApiKeyRow[]>(`SELECT ${COLUMNS} FROM gateway.api_keys WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async list(tenant?: string): Promise<ApiKeyRecord[]> {
    const rows = await this.ds.query<ApiKeyRow[]>(
      `SELECT ${COLUMNS} FROM gateway.api_keys WHERE $1::text IS NULL OR tenant = $1 ORDER BY created_at, id`,
      [tenant ?? null],
    );
    return rows.map(toRecord);
  }

  /** Revoked now, or when it already was; null when no such key. */
  async revoke(id: string): Promise<ApiKeyRecord | null> {
    const rows = await this.ds.query<ApiKeyRow[]>(
      `UPDATE gateway.api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`,
      [id],
    );
    const updated = rows[0] as ApiKeyRow[] | ApiKeyRow | undefined;
    // TypeORM's postgres driver answers UPDATE … RETURNING with [rows, count].
    const row = Array.isArray(updated) ? updated[0] : updated;
    return row ? toRecord(row) : null;
  }

  async touch(id: string): Promise<void> {
    await this.ds.query(
      `UPDATE gateway.api_keys SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - $2 * interval '1 millisecond')`,
      [id, LAST_USED_RESOLUTION_MS],
    );
  }
}
