import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { Reflector } from '@nestjs/core';
import { Logger } from '@nestjs/common';
import type { MetricsService } from '@ragmesh/observability';
import { ApiError } from '../http/api-error';
import { generateApiKey, hashApiKey, keyPrefix } from './api-key';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyLookup, ttlCache } from './api-key-lookup';
import { LAST_USED_RESOLUTION_MS, type ApiKeyRecord, type ApiKeysRepository } from './api-keys.repository';
import { ApiKeysUseCase } from './api-keys.use-case';
import type { RateLimits } from './rate-limits';
import { RequireScope } from './scopes.decorator';

const record = (id: string, over: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id,
  name: id,
  prefix: 'rgm_live_abcdef',
  tenant: 't',
  scopes: ['documents'],
  expiresAt: null,
  revokedAt: null,
  lastUsedAt: null,
  createdAt: new Date(0),
  ...over,
});

/** A store of keys by hash that counts its reads, as the SQL one would be asked. */
class Keys {
  byHash = new Map<string, ApiKeyRecord>();
  reads = 0;
  touches: string[] = [];
  add(key: string, r: ApiKeyRecord): void {
    this.byHash.set(hashApiKey(key), r);
  }
  findByHash = jest.fn(async (hash: string) => {
    this.reads++;
    return this.byHash.get(hash) ?? null;
  });
  findById = async (id: string) => [...this.byHash.values()].find((r) => r.id === id) ?? null;
  revoke = async (id: string) => {
    for (const [hash, r] of this.byHash) if (r.id === id) this.byHash.set(hash, { ...r, revokedAt: new Date() });
    return this.findById(id);
  };
  touch = jest.fn(async (id: string) => void this.touches.push(id));
}

const lookupOver = (keys: Keys, ttl = 5_000, max = 100) =>
  new ApiKeyLookup(keys as unknown as ApiKeysRepository, { AUTH_CACHE_TTL_MS: ttl, AUTH_CACHE_MAX_KEYS: max });

beforeAll(() => Logger.overrideLogger(false));
beforeEach(() => jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z'), doNotFake: ['nextTick', 'setImmediate'] }));
afterEach(() => jest.useRealTimers());

describe('ttlCache', () => {
  it('misses once an entry is ttl old, drops the least recently used past max, and keeps nothing with ttl or max 0', () => {
    const lru = ttlCache<number>(2, 1_000)!;
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1); // a is now the most recently used
    lru.set('c', 3);
    expect([lru.get('a'), lru.get('b'), lru.get('c')]).toEqual([1, undefined, 3]);
    jest.advanceTimersByTime(1_000);
    expect(lru.get('a')).toBe(1); // exactly ttl old: still a hit
    jest.advanceTimersByTime(1);
    expect(lru.get('a')).toBeUndefined();
    expect(lru.has('c')).toBe(false);
    expect(ttlCache<number>(10, 0)).toBeUndefined();
    expect(ttlCache<number>(0, 1_000)).toBeUndefined();
  });
});

describe('ApiKeyLookup', () => {
  it('reads a found key once per AUTH_CACHE_TTL_MS, and an unknown key every time', async () => {
    const keys = new Keys();
    const key = generateApiKey();
    keys.add(key, record('k1'));
    const lookup = lookupOver(keys);
    expect((await lookup.find(key))?.id).toBe('k1');
    expect((await lookup.find(key))?.id).toBe('k1');
    expect(keys.reads).toBe(1);
    jest.advanceTimersByTime(5_001);
    await lookup.find(key);
    expect(keys.reads).toBe(2);

    const unknown = generateApiKey();
    expect(await lookup.find(unknown)).toBeNull();
    expect(await lookup.find(unknown)).toBeNull();
    expect(keys.reads).toBe(4);
    // Created meanwhile (another replica, the CLI): works at once.
    keys.add(unknown, record('k2'));
    expect((await lookup.find(unknown))?.id).toBe('k2');
  });

  it('reads every time with AUTH_CACHE_TTL_MS=0, and keeps at most AUTH_CACHE_MAX_KEYS', async () => {
    const keys = new Keys();
    const [a, b, c] = [generateApiKey(), generateApiKey(), generateApiKey()];
    keys.add(a, record('a'));
    keys.add(b, record('b'));
    keys.add(c, record('c'));
    const off = lookupOver(keys, 0);
    await off.find(a);
    await off.find(a);
    expect(keys.reads).toBe(2);

    const small = lookupOver(keys, 5_000, 2);
    keys.reads = 0;
    for (const k of [a, b, c, b, c]) await small.find(k);
    expect(keys.reads).toBe(3);
    await small.find(a); // pushed out by c
    expect(keys.reads).toBe(4);
  });

  it('asks the database once for a burst of requests with a key it does not hold', async () => {
    const keys = new Keys();
    const key = generateApiKey();
    keys.add(key, record('k'));
    const lookup = lookupOver(keys);
    const found = await Promise.all([lookup.find(key), lookup.find(key), lookup.find(key)]);
    expect(found.map((r) => r?.id)).toEqual(['k', 'k', 'k']);
    expect(keys.reads).toBe(1);
  });

  it('forgets a key revoked through this process at once, also when a lookup of it was running', async () => {
    const keys = new Keys();
    const key = generateApiKey();
    keys.add(key, record('k', { tenant: 't' }));
    const lookup = lookupOver(keys);
    const useCase = new ApiKeysUseCase(keys as unknown as ApiKeysRepository, lookup);
    expect((await lookup.find(key))?.revokedAt).toBeNull();
    await useCase.revoke('k', 't');
    expect((await lookup.find(key))?.revokedAt).toEqual(expect.any(Date));

    // A SELECT that started before the revoke answers its request, but its answer is not kept.
    const other = generateApiKey();
    keys.add(other, record('o', { tenant: 't' }));
    let answer: (r: ApiKeyRecord) => void = () => undefined;
    keys.findByHash.mockImplementationOnce(() => new Promise<ApiKeyRecord>((resolve) => (answer = resolve)));
    const running = lookup.find(other);
    await useCase.revoke('o', 't');
    answer(record('o', { tenant: 't' }));
    expect((await running)?.revokedAt).toBeNull();
    expect((await lookup.find(other))?.revokedAt).toEqual(expect.any(Date));
  });

  it('writes last_used_at at most once per key per LAST_USED_RESOLUTION_MS', () => {
    const keys = new Keys();
    const lookup = lookupOver(keys);
    for (let i = 0; i < 5; i++) lookup.touch('a');
    lookup.touch('b');
    expect(keys.touches).toEqual(['a', 'b']);
    jest.advanceTimersByTime(LAST_USED_RESOLUTION_MS);
    lookup.touch('a');
    expect(keys.touches).toEqual(['a', 'b']);
    jest.advanceTimersByTime(1);
    lookup.touch('a');
    expect(keys.touches).toEqual(['a', 'b', 'a']);
  });
});

@RequireScope('documents')
class Documents {
  handler(): void {}
}

describe('ApiKeyGuard with the cache', () => {
  it('checks expiry on every request against the cached record, and writes last_used_at once', async () => {
    const keys = new Keys();
    const key = generateApiKey();
    keys.add(key, record('k', { prefix: keyPrefix(key), expiresAt: new Date(Date.now() + 1_000) }));
    const limits = { consumeAll: async () => ({ states: [{ limit: 'requests', max: 10, remaining: 9, resetSeconds: 60, allowed: true }] }) };
    const metrics = { counter: () => ({ inc: () => undefined }) } as unknown as MetricsService;
    const guard = new ApiKeyGuard(new Reflector(), lookupOver(keys), limits as unknown as RateLimits, { CHAT_MAX_MESSAGES: 2, CHAT_MAX_PROMPT_TOKENS: 10, DOCUMENTS_MAX_PER_BATCH: 2 }, metrics);
    const call = () => {
      const req = { headers: { authorization: `Bearer ${key}` }, method: 'GET', path: '/v1/x', body: {} };
      const ctx = new ExecutionContextHost([req, { setHeader: () => undefined }], Documents as never, Documents.prototype.handler);
      ctx.setType('http');
      return guard.canActivate(ctx).then(
        () => 200,
        (err: ApiError) => err.getStatus(),
      );
    };
    expect(await call()).toBe(200);
    expect(await call()).toBe(200);
    jest.advanceTimersByTime(1_000);
    expect(await call()).toBe(401);
    expect(keys.reads).toBe(1);
    expect(keys.touches).toEqual(['k']);
  });
});
