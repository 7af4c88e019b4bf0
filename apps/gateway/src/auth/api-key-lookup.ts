import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config';
import { hashApiKey } from './api-key';
import { ApiKeysRepository, LAST_USED_RESOLUTION_MS, type ApiKeyRecord } from './api-keys.repository';
import { LRUCache } from 'lru-cache';

type LookupConfig = Pick<AppConfig, 'AUTH_CACHE_TTL_MS' | 'AUTH_CACHE_MAX_KEYS'>;

/**
 * Entries are misses once older than `ttlMs` (counted from when they were stored), the least recently
 * used goes first past `max`; undefined (nothing kept) when either is 0. Time is Date.now, so a
 * test's fake clock drives it too.
 */
export function ttlCache<V extends NonNullable<unknown>>(max: number, ttlMs: number): LRUCache<string, V> | undefined {
  if (max <= 0 || ttlMs <= 0) return undefined;
  return new LRUCache<string, V>({ max, ttl: ttlMs, perf: { now: () => Date.now() } });
}

/**
 * The guard's way to its key records without a PostgreSQL round trip per request. Found keys
 * (revoked ones too: revocation is final) are kept by hash for AUTH_CACHE_TTL_MS; the caller
 * still checks revokedAt and expiresAt on every request, so a cached key expires on time.
 * Unknown keys are not cached: a key just made on another replica or by the CLI must work at
 * once, and random keys must not push real ones out. Revoking through this process forgets the
 * key at once; another replica (or the CLI) is seen within the TTL.
 */
@Injectable()
export class ApiKeyLookup {
  private readonly logger = new Logger('auth');
  private readonly records: LRUCache<string, ApiKeyRecord> | undefined;
  /** One database lookup per key at a time: a burst on a cold key waits for the first. */
  private readonly inFlight = new Map<string, Promise<ApiKeyRecord | null>>();
  /** Keys whose last_used_at this process wrote less than LAST_USED_RESOLUTION_MS ago. */
  private readonly touched: LRUCache<string, true> | undefined;

  constructor(
    private readonly keys: ApiKeysRepository,
    @Inject(APP_CONFIG) config: LookupConfig,
  ) {
    this.records = ttlCache(config.AUTH_CACHE_MAX_KEYS, config.AUTH_CACHE_TTL_MS);
    // Not tied to AUTH_CACHE_TTL_MS: with the record cache off, last_used_at is still written at most once a minute.
    this.touched = ttlCache(config.AUTH_CACHE_MAX_KEYS, LAST_USED_RESOLUTION_MS);
  }

  find(key: string): Promise<ApiKeyRecord | null> {
    const hash = hashApiKey(key);
    const cached = this.records?.get(hash);
    if (cached) return Promise.resolve(cached);
    const pending = this.inFlight.get(hash);
    if (pending) return pending;
    const lookup = this.keys
      .findByHash(hash)
      .then((record) => {
        // A revoke while the SELECT ran would be undone by caching its older answer.
        if (record && this.inFlight.get(hash) === lookup) this.records?.set(hash, record);
        return record;
      })
      .finally(() => {
        if (this.inFlight.get(hash) === lookup) this.inFlight.delete(hash);
      });
    this.inFlight.set(hash, lookup);
    return lookup;
  }

  /** The key was revoked or changed through this process: the next request reads it again. */
  forget(keyId: string): void {
    // A linear scan: revocations are rare.
    for (const [hash, record] of [...(this.records?.entries() ?? [])]) if (record.id === keyId) this.records?.delete(hash);
    // A lookup already running may have read the row before the change: let it answer, but not be cached.
    this.inFlight.clear();
  }

  /** Writes last_used_at in the background, at most once per key per LAST_USED_RESOLUTION_MS in this process. */
  touch(keyId: string): void {
    if (this.touched?.has(keyId)) return;
    this.touched?.set(keyId, true);
    this.keys.touch(keyId).catch((err: unknown) => this.logger.warn(`last_used_at not written: ${String(err)}`));
  }
}
