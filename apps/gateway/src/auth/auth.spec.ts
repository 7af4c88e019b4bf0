import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { Reflector } from '@nestjs/core';
import type { MetricsService } from '@ragmesh/observability';
import { ApiError } from '../http/api-error';
import { jsonDepth } from '../http/body-parsing';
import { redactAddresses } from '../http/exception.filter';
import { API_KEY_PATTERN, generateApiKey, hashApiKey, keyPrefix } from './api-key';
import { ApiKeyGuard } from './api-key.guard';
import type { ApiKeysRepository } from './api-keys.repository';
import { parseCreateArgs, UsageError } from './keys-cli';
import type { RateLimits } from './rate-limits';
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

describe('ApiKeyGuard', () => {
  const keys = { findByKey: jest.fn(), touch: jest.fn().mockResolvedValue(undefined) };
  const limits = { consume: jest.fn() };
  const refused = { inc: jest.fn() };
  const metrics = { counter: () => refused } as unknown as MetricsService;
  const guard = new ApiKeyGuard(
    new Reflector(),
    keys as unknown as ApiKeysRepository,
    limits as unknown as RateLimits,
    { CHAT_MAX_MESSAGES: 2, CHAT_MAX_PROMPT_TOKENS: 10, DOCUMENTS_MAX_PER_BATCH: 2 },
    metrics,
  );
  const res = { setHeader: jest.fn() };
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
    limits.consume.mockReset().mockResolvedValue({ limit: 'requests', max: 10, remaining: 9, resetSeconds: 60, allowed: true });
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
    limits.consume.mockResolvedValueOnce({ limit: 'requests', max: 10, remaining: 0, resetSeconds: 42, allowed: false });
    res.setHeader.mockClear();
    expect(await statusOf(guard.canActivate(context(Documents, 'handler', { authorization: `Bearer ${key}` })))).toBe(429);
    expect(res.setHeader).toHaveBeenCalledWith('Retry-After', '42');
    expect(res.setHeader).toHaveBeenCalledWith('X-RateLimit-Remaining', '0');
    expect(res.setHeader).toHaveBeenCalledWith('X-RateLimit-Limit', '10');
    expect(res.setHeader).toHaveBeenCalledWith('X-RateLimit-Reset', '42');
  });
});
