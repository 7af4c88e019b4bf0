import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { Reflector } from '@nestjs/core';
import { serviceToken } from '@ragmesh/contracts';
import type { MetricsService } from '@ragmesh/observability';
import { ApiError } from '../http/api-error';
import { jsonDepth } from '../http/body-parsing';
import { redactAddresses } from '../http/exception.filter';
import { FORWARDED_BY_HEADER, REPLICA_TOKEN_HEADER } from '../http/replica-hop';
import { API_KEY_PATTERN, generateApiKey, hashApiKey, keyPrefix } from './api-key';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyLookup } from './api-key-lookup';
import type { ApiKeysRepository } from './api-keys.repository';
import { parseCreateArgs, UsageError } from './keys-cli';
import { RateLimits } from './rate-limits';
import { Public, RequireScope } from './scopes.decorator';

describe('API keys', () => {
  it('generates keys that match the pattern, with a short loggable prefix and a stable hash', () => {
    const key = generateApiKey('dev');
    expect(key).toMatch(API_KEY_PATTERN);
    expect(key).not.toBe(generateApiKey('dev'));
    expect(keyPrefix('rgm_e2e_0123456789abcdef0123456789abcdef')).toBe('rgm_e2e_012345');
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).toBe(hashApiKey(key));
    expect(hashApiKey(key)).not.toContain(key.slice(8));
  });

  it('parses the CLI create command and names what is wrong', () => {
    const parsed = parseCreateArgs(['--name', 'backend', '--scopes', 'chat,feedback,chat', '--tenant', 'acme', '--expires', '2999-01-01T00:00:00Z'], 'default');
    expect(parsed).toEqual({ name: 'backend', scopes: ['chat', 'feedback'], tenant: 'acme', expiresAt: new Date('2999-01-01T00:00:00Z') });
    expect(parseCreateArgs(['--name', 'x', '--scopes', 'admin'], 'default').tenant).toBe('default');
    expect(() => parseCreateArgs(['--scopes', 'chat'], 'default')).toThrow(new UsageError('--name is required'));
    expect(() => parseCreateArgs(['--name', 'x', '--scopes', 'chat,root'], 'default')).toThrow(/unknown scope root/);
    expect(() => parseCreateArgs(['--name', 'x', '--scopes', 'chat', '--expires', 'soon'], 'default')).toThrow(/not a date-time/);
    expect(() => parseCreateArgs(['--name', 'x', '--scopes', 'chat', '--expires', '2001-01-01T00:00:00Z'], 'default')).toThrow(/future/);
    expect(() => parseCreateArgs(['--name', 'x', '--scopes', 'chat', '--tenant', 'Bad Tenant'], 'default')).toThrow(/--tenant/);
  });
});

describe('hardening helpers', () => {
  it('measures JSON nesting on the raw bytes, ignoring brackets inside strings', () => {
    expect(jsonDepth(Buffer.from('{"a":[1,{"b":2}]}'))).toBe(3);
    expect(jsonDepth(Buffer.from('{"a":"[[[[{{{{\\"]]]"}'))).toBe(1);
    expect(jsonDepth(Buffer.from('['.repeat(500) + ']'.repeat(500)))).toBe(500);
  });

  it('redacts hosts and ports from upstream error texts', () => {
    expect(redactAddresses('No connection established. Last error: connect ECONNREFUSED 10.1.2.3:50051')).toBe(
      'No connection established. Last error: connect ECONNREFUSED <address>',
    );
    expect(redactAddresses('dns resolution failed for retrieval.ragmesh.svc.cluster.local:50051')).toBe('dns resolution failed for <address>');
    expect(redactAddresses('no upstream available for model local-extractive')).toBe('no upstream available for model local-extractive');
  });
});

class Undeclared {
  handler(): void {}
}
@RequireScope('documents')
class Documents {
  handler(): void {}
  @RequireScope('admin')
  admin(): void {}
}
@Public()
class Open {
  handler(): void {}
}
@RequireScope('chat')
class Chat {
  handler(): void {}
}

describe('ApiKeyGuard', () => {
  const keys = { findByKey: jest.fn(), touch: jest.fn().mockResolvedValue(undefined) };
  const limits = { consumeAll: jest.fn(), release: jest.fn().mockResolvedValue(undefined) };
  const refused = { inc: jest.fn() };
  const metrics = { counter: () => refused } as unknown as MetricsService;
  // No cache here: each case scripts what the database answers (the cache has its own tests).
  const repository = { findByHash: (hash: string) => keys.findByKey(hash), touch: keys.touch } as unknown as ApiKeysRepository;
  const guard = new ApiKeyGuard(
    new Reflector(),
    new ApiKeyLookup(repository, { AUTH_CACHE_TTL_MS: 0, AUTH_CACHE_MAX_KEYS: 10 }),
    limits as unknown as RateLimits,
    { CHAT_MAX_MESSAGES: 2, CHAT_MAX_PROMPT_TOKENS: 10, DOCUMENTS_MAX_PER_BATCH: 2 },
    metrics,
  );
  const res = { setHeader: jest.fn(), once: jest.fn() };
  const allowed = (limit: string, remaining = 9) => ({ limit, max: 10, remaining, resetSeconds: 60, allowed: true });
  const context = (cls: new () => object, handler: string, headers: Record<string, string> = {}, body: unknown = {}) => {
    const req = { headers, method: 'POST', path: '/v1/x', body };
    const ctx = new ExecutionContextHost([req, res], cls as never, (cls.prototype as Record<string, () => void>)[handler]);
    ctx.setType('http');
    return ctx;
  };
  const statusOf = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (err) {
      return (err as ApiError).getStatus();
    }
    return 200;
  };

  beforeEach(() => {
    keys.findByKey.mockReset();
    limits.consumeAll.mockReset().mockImplementation(async (_key: string, charges: { limit: string }[]) => ({ states: charges.map((c) => allowed(c.limit)) }));
    res.once.mockReset();
  });

  it('refuses a route that declares no scope, even with a valid key, and lets @Public through without one', async () => {
    keys.findByKey.mockResolvedValue({ id: 'k', scopes: ['admin'], tenant: 't', prefix: 'rgm_x_abcdef', revokedAt: null, expiresAt: null });
    expect(await statusOf(guard.canActivate(context(Undeclared, 'handler', { authorization: `Bearer ${generateApiKey()}` })))).toBe(403);
    expect(await guard.canActivate(context(Open, 'handler'))).toBe(true);
    expect(keys.findByKey).not.toHaveBeenCalled();
    expect(refused.inc).toHaveBeenCalledWith({ reason: 'undeclared_route' });
  });

  it('answers 401 for a missing, malformed, unknown, revoked or expired key and 403 for a missing scope', async () => {
    const key = generateApiKey();
    const auth = { authorization: `Bearer ${key}` };
    expect(await statusOf(guard.canActivate(context(Documents, 'handler')))).toBe(401);
    expect(await statusOf(guard.canActivate(context(Documents, 'handler', { authorization: 'Bearer nope' })))).toBe(401);
    keys.findByKey.mockResolvedValueOnce(null);
    expect(await statusOf(guard.canActivate(context(Documents, 'handler', auth)))).toBe(401);
    const record = { id: 'k', scopes: ['documents'], tenant: 't', prefix: keyPrefix(key), revokedAt: null, expiresAt: null };
    keys.findByKey.mockResolvedValueOnce({ ...record, revokedAt: new Date() });
    expect(await statusOf(guard.canActivate(context(Documents, 'handler', auth)))).toBe(401);
    keys.findByKey.mockResolvedValueOnce({ ...record, expiresAt: new Date(Date.now() - 1000) });
    expect(await statusOf(guard.canActivate(context(Documents, 'handler', auth)))).toBe(401);
    keys.findByKey.mockResolvedValueOnce(record);
    expect(await statusOf(guard.canActivate(context(Documents, 'admin', auth)))).toBe(403);
    keys.findByKey.mockResolvedValueOnce(record);
    expect(await guard.canActivate(context(Documents, 'handler', { 'x-api-key': key }))).toBe(true);
  });

  it('answers 422 for more documents in one request than a batch may hold', async () => {
    const key = generateApiKey();
    keys.findByKey.mockResolvedValue({ id: 'k', scopes: ['documents'], tenant: 't', prefix: keyPrefix(key), revokedAt: null, expiresAt: null });
    const auth = { authorization: `Bearer ${key}` };
    expect(await statusOf(guard.canActivate(context(Documents, 'handler', auth, { documents: [{}, {}, {}] })))).toBe(422);
    expect(await guard.canActivate(context(Documents, 'handler', auth, { documents: [{}, {}] }))).toBe(true);
  });

  it('answers 429 with Retry-After and X-RateLimit-* once the request budget is spent', async () => {
    const key = generateApiKey();
    keys.findByKey.mockResolvedValue({ id: 'k', scopes: ['documents'], tenant: 't', prefix: keyPrefix(key), revokedAt: null, expiresAt: null });
    const spent = { limit: 'requests', max: 10, remaining: 0, resetSeconds: 42, allowed: false };
    limits.consumeAll.mockResolvedValueOnce({ states: [spent], refused: spent });
    res.setHeader.mockClear();
    expect(await statusOf(guard.canActivate(context(Documents, 'handler', { authorization: `Bearer ${key}` })))).toBe(429);
    expect(res.setHeader).toHaveBeenCalledWith('Retry-After', '42');
    expect(res.setHeader).toHaveBeenCalledWith('X-RateLimit-Remaining', '0');
    expect(res.setHeader).toHaveBeenCalledWith('X-RateLimit-Limit', '10');
    expect(res.setHeader).toHaveBeenCalledWith('X-RateLimit-Reset', '42');
  });

  it('counts a chat against requests, tokens and (streaming) a stream slot in one call, and frees the slot when the response closes', async () => {
    const key = generateApiKey();
    keys.findByKey.mockResolvedValue({ id: 'k', scopes: ['chat'], tenant: 't', prefix: keyPrefix(key), revokedAt: null, expiresAt: null });
    const auth = { authorization: `Bearer ${key}` };
    expect(await guard.canActivate(context(Chat, 'handler', auth, { stream: true, messages: [{ role: 'user', content: 'one two three' }] }))).toBe(true);
    expect(limits.consumeAll).toHaveBeenCalledTimes(1);
    expect(limits.consumeAll).toHaveBeenCalledWith('k', [{ limit: 'requests' }, { limit: 'tokens', points: expect.any(Number) }, { limit: 'streams' }]);
    expect(res.once).toHaveBeenCalledWith('close', expect.any(Function));
    (res.once.mock.calls[0] as [string, () => void])[1]();
    expect(limits.release).toHaveBeenCalledWith('streams', 'k');
    // Not streaming: no slot, nothing to free.
    expect(await guard.canActivate(context(Chat, 'handler', auth, { messages: [{ role: 'user', content: 'hi' }] }))).toBe(true);
    expect(limits.consumeAll).toHaveBeenLastCalledWith('k', [{ limit: 'requests' }, { limit: 'tokens', points: expect.any(Number) }]);
    expect(res.once).toHaveBeenCalledTimes(1);
  });

  it("does not count a resume another replica forwarded with the service token again, but still checks the client's key", async () => {
    const key = generateApiKey();
    keys.findByKey.mockResolvedValue({ id: 'k', scopes: ['chat'], tenant: 't', prefix: keyPrefix(key), revokedAt: null, expiresAt: null });
    const hop = (method: string, path: string, headers: Record<string, string>) => {
      const ctx = new ExecutionContextHost([{ method, path, headers, body: {} }, res], Chat as never, Chat.prototype.handler);
      ctx.setType('http');
      return guard.canActivate(ctx);
    };
    const forwarded = { authorization: `Bearer ${key}`, [FORWARDED_BY_HEADER]: 'gw-front', [REPLICA_TOKEN_HEADER]: serviceToken() };
    expect(await hop('GET', '/v1/chat/stream/gw-owner.x', forwarded)).toBe(true);
    expect(await hop('POST', '/v1/chat/stream', { ...forwarded, 'last-event-id': '4' })).toBe(true);
    expect(limits.consumeAll).not.toHaveBeenCalled();
    // Without the right token, or on a route replicas never forward, the marker changes nothing.
    expect(await hop('GET', '/v1/chat/stream/gw-owner.x', { ...forwarded, [REPLICA_TOKEN_HEADER]: 'guessed' })).toBe(true);
    expect(await hop('POST', '/v1/chat/stream', forwarded)).toBe(true);
    expect(await hop('POST', '/v1/chat/completions', { ...forwarded, 'last-event-id': '4' })).toBe(true);
    expect(limits.consumeAll).toHaveBeenCalledTimes(3);
    keys.findByKey.mockResolvedValueOnce(null);
    expect(await statusOf(hop('GET', '/v1/chat/stream/gw-owner.x', forwarded))).toBe(401);
  });

  it('answers as counting one limit after another would: requests 429, then size 422, then tokens or streams 429', async () => {
    const key = generateApiKey();
    keys.findByKey.mockResolvedValue({ id: 'k', scopes: ['chat'], tenant: 't', prefix: keyPrefix(key), revokedAt: null, expiresAt: null });
    const auth = { authorization: `Bearer ${key}` };
    const oversized = { messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }, { role: 'user', content: 'c' }] };
    const spentRequests = { limit: 'requests', max: 10, remaining: 0, resetSeconds: 5, allowed: false };
    limits.consumeAll.mockResolvedValueOnce({ states: [spentRequests], refused: spentRequests });
    expect(await statusOf(guard.canActivate(context(Chat, 'handler', auth, oversized)))).toBe(429);
    // Too many messages: only the request is counted, and the answer is 422.
    expect(await statusOf(guard.canActivate(context(Chat, 'handler', auth, oversized)))).toBe(422);
    expect(limits.consumeAll).toHaveBeenLastCalledWith('k', [{ limit: 'requests' }]);
    const spentTokens = { limit: 'tokens', max: 10, remaining: 0, resetSeconds: 7, allowed: false };
    limits.consumeAll.mockResolvedValueOnce({ states: [allowed('requests'), spentTokens], refused: spentTokens });
    res.setHeader.mockClear();
    expect(await statusOf(guard.canActivate(context(Chat, 'handler', auth, { stream: true, messages: [{ role: 'user', content: 'hi' }] })))).toBe(429);
    expect(res.setHeader).toHaveBeenCalledWith('Retry-After', '7');
    // A refused stream never took a slot the close handler would give back twice.
    expect(res.once).not.toHaveBeenCalled();
  });
});

describe('RateLimits.consumeAll (memory store, the library itself)', () => {
  const limitsOf = (requests: number, tokens: number, streams: number) =>
    new RateLimits(
      { RATE_LIMIT_STORE: 'memory', REDIS_URL: 'redis://unused', RATE_LIMIT_REQUESTS_PER_MIN: requests, RATE_LIMIT_TOKENS_PER_MIN: tokens, RATE_LIMIT_CONCURRENT_STREAMS: streams },
      {} as never,
    );
  const chat = (tokens: number) => [{ limit: 'requests' as const }, { limit: 'tokens' as const, points: tokens }, { limit: 'streams' as const }];
  const remaining = async (limits: RateLimits, key: string) => {
    const { states } = await limits.consumeAll(key, chat(1));
    return states.map((s) => s.remaining);
  };

  it('admits when every limit does, reporting each state in the order asked', async () => {
    const limits = limitsOf(10, 100, 3);
    const { states, refused } = await limits.consumeAll('a', chat(40));
    expect(refused).toBeUndefined();
    expect(states.map((s) => [s.limit, s.remaining, s.allowed])).toEqual([
      ['requests', 9, true],
      ['tokens', 60, true],
      ['streams', 2, true],
    ]);
  });

  it('gives the tokens and the stream slot back when any limit refuses, and keeps the request counted', async () => {
    const limits = limitsOf(10, 100, 1);
    await limits.consumeAll('b', chat(30));
    // The one stream slot is taken: refused by streams, the 50 tokens it asked for are not spent.
    const bySlot = await limits.consumeAll('b', chat(50));
    expect(bySlot.refused).toMatchObject({ limit: 'streams', allowed: false });
    await limits.release('streams', 'b');
    // Refused by tokens (30 + 80 > 100): the slot it took is free again, the 80 tokens are not kept either.
    const byTokens = await limits.consumeAll('b', chat(80));
    expect(byTokens.refused).toMatchObject({ limit: 'tokens', allowed: false });
    // 4 requests counted (every attempt; this probe is the 4th), 30 tokens spent (+1 by the probe), the slot free (the probe takes it).
    expect(await remaining(limits, 'b')).toEqual([6, 69, 0]);
  });

  it('reports the request limit first and gives back what the refused request took on the others', async () => {
    const limits = limitsOf(1, 100, 5);
    await limits.consumeAll('c', chat(10));
    const refused = await limits.consumeAll('c', chat(10));
    expect(refused.refused).toMatchObject({ limit: 'requests', remaining: 0, allowed: false });
    const after = await limits.consumeAll('c', [{ limit: 'tokens', points: 1 }, { limit: 'streams' }]);
    expect(after.states.map((s) => s.remaining)).toEqual([89, 3]);
  });
});
