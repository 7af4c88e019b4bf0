import { randomUUID } from 'node:crypto';
import { TEST_API_KEY } from '../../test/auth';
import { fakeCalls, startTestGateway, type TestGateway } from '../../test/security-fixture';
import type { Scope } from './api-key';
import { ApiKeysRepository } from './api-keys.repository';
import { runKeysCli } from './keys-cli';

/* API keys, scopes, tenants and per-key limits through the real HTTP stack, PostgreSQL and (for one test) Redis. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

jest.setTimeout(60_000);

const bearer = (key: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json', ...extra });

describe('API keys and limits (integration)', () => {
  let gw: TestGateway;
  let keys: ApiKeysRepository;
  const call = (path: string, key: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    fetch(`${gw.base}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: bearer(key, init.headers),
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  const newKey = async (scopes: Scope[], tenant = 'default', expiresAt?: Date) => (await keys.create({ name: `t-${randomUUID()}`, scopes, tenant, expiresAt })).key;

  // Short, so the CLI test can wait out a revocation made outside this process.
  const AUTH_CACHE_TTL_MS = 300;

  beforeAll(async () => {
    gw = await startTestGateway({ CORS_ORIGINS: 'https://app.example', AUTH_CACHE_TTL_MS: String(AUTH_CACHE_TTL_MS) });
    keys = gw.app.get(ApiKeysRepository);
  });

  afterAll(async () => {
    await gw?.close();
  });

  it('refuses /v1 without a usable key (401 with the reason) and a key without the route scope (403)', async () => {
    const chatOnly = await newKey(['chat']);
    const expired = await newKey(['chat']);
    await gw.ds.query(`UPDATE gateway.api_keys SET expires_at = now() - interval '1 second' WHERE prefix = $1`, [expired.slice(0, 15)]);
    const revoked = await newKey(['chat']);
    await keys.revoke((await keys.findByKey(revoked))!.id);

    const none = await fetch(`${gw.base}/v1/models`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect(await none.json()).toMatchObject({ status: 'error', message: expect.stringContaining('missing API key'), request_id: expect.any(String) });
    const cases: [string, number, RegExp][] = [
      ['not-a-key', 401, /malformed/],
      ['rgm_live_ffffffffffffffffffffffffffffffff', 401, /unknown API key/],
      [expired, 401, /expired/],
      [revoked, 401, /revoked/],
    ];
    for (const [key, status, reason] of cases) {
      const res = await call('/v1/models', key);
      expect({ key, status: res.status }).toEqual({ key, status });
      expect(((await res.json()) as Json).message).toMatch(reason);
    }
    expect((await call('/v1/models', chatOnly)).status).toBe(200);
    const forbidden = await call('/v1/documents', chatOnly, { body: { title: 't', content: 'c' } });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as Json).message).toContain("lacks the 'documents' scope");
    expect((await call('/v1/admin/keys', chatOnly)).status).toBe(403);
    // Public: the OpenAPI document and health need no key.
    expect((await fetch(`${gw.base}/openapi.json`)).status).toBe(200);
    expect((await fetch(`${gw.base}/health/live`)).status).toBe(200);
    const metrics = await (await fetch(`${gw.base}/metrics`)).text();
    for (const reason of ['missing_key', 'malformed_key', 'unknown_key', 'expired_key', 'revoked_key', 'missing_scope']) {
      expect(metrics).toMatch(new RegExp(`ragmesh_gateway_requests_refused_total\\{[^}]*reason="${reason}"[^}]*\\} [1-9]`));
    }
  });

  it('creates a key through the admin API (shown once), lists it by prefix only, and revokes it', async () => {
    const created = await call('/v1/admin/keys', TEST_API_KEY, { body: { name: 'backend', scopes: ['chat', 'feedback'], expires_at: '2999-01-01T00:00:00Z' } });
    expect(created.status).toBe(201);
    const { data } = (await created.json()) as Json;
    expect(data).toMatchObject({ name: 'backend', scopes: ['chat', 'feedback'], tenant: 'default', expires_at: '2999-01-01T00:00:00.000Z', revoked_at: null });
    expect(data.key.startsWith(data.prefix)).toBe(true);
    expect((await call('/v1/models', data.key)).status).toBe(200);

    const listed = (await (await call('/v1/admin/keys', TEST_API_KEY)).json()) as Json;
    const mine = listed.data.keys.find((k: Json) => k.id === data.id);
    expect(mine).toMatchObject({ prefix: data.prefix, last_used_at: expect.any(String) });
    expect(JSON.stringify(listed)).not.toContain(data.key);
    const [stored] = await gw.ds.query(`SELECT hash FROM gateway.api_keys WHERE id = $1`, [data.id]);
    expect(stored.hash).not.toContain(data.key.slice(9));

    expect((await call(`/v1/admin/keys/${data.id}`, TEST_API_KEY, { method: 'DELETE' })).status).toBe(200);
    expect((await call('/v1/models', data.key)).status).toBe(401);
    expect((await call(`/v1/admin/keys/${randomUUID()}`, TEST_API_KEY, { method: 'DELETE' })).status).toBe(404);
    const bad = await call('/v1/admin/keys', TEST_API_KEY, { body: { name: '', scopes: ['root'], expires_at: '2001-01-01T00:00:00Z', extra: 1 } });
    expect(bad.status).toBe(400);
    const fields = ((await bad.json()) as Json).data.errors.map((e: Json) => e.field).sort();
    expect(fields).toEqual(['body', 'expires_at', 'name', 'scopes[0]']);
  });

  it('manages keys from the CLI: create prints the key once, list shows prefixes, revoke stops it', async () => {
    const lines: string[] = [];
    const config = { DATABASE_URL: process.env.DATABASE_URL ?? '', BOOTSTRAP_TENANT: 'default' };
    expect(await runKeysCli(['create', '--name', 'cli key', '--scopes', 'chat'], config, (l) => lines.push(l))).toBe(0);
    const key = /key \(shown only this once\): (\S+)/.exec(lines.join('\n'))?.[1] ?? '';
    expect((await call('/v1/models', key)).status).toBe(200);
    lines.length = 0;
    expect(await runKeysCli(['list'], config, (l) => lines.push(l))).toBe(0);
    const line = lines.find((l) => l.includes('"cli key"')) ?? '';
    expect(line).toContain(key.slice(0, 15));
    expect(line).not.toContain(key);
    const revokedAt = Date.now();
    expect(await runKeysCli(['revoke', line.split(' ')[0]], config, () => undefined)).toBe(0);
    // The CLI is another process: this replica may answer from its cache, but for no longer than AUTH_CACHE_TTL_MS.
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < AUTH_CACHE_TTL_MS + 2_000) {
      status = (await call('/v1/models', key)).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(AUTH_CACHE_TTL_MS + 1_000);
    expect(await runKeysCli(['create', '--name', 'x', '--scopes', 'root'], config, () => undefined)).toBe(2);
  });

  it("keeps tenants apart: another tenant's conversations, jobs, documents and keys are not found", async () => {
    const a = await newKey(['chat', 'feedback', 'documents', 'admin'], 'tenant-a');
    const b = await newKey(['chat', 'feedback', 'documents', 'admin'], 'tenant-b');
    const chat = await call('/v1/chat/completions', a, { body: { messages: [{ role: 'user', content: 'hello' }] } });
    expect(chat.status).toBe(200);
    const sessionId = chat.headers.get('x-session-id') ?? '';
    expect((await call(`/v1/conversations/${sessionId}`, a)).status).toBe(200);
    expect((await call(`/v1/conversations/${sessionId}`, b)).status).toBe(404);
    expect((await call(`/v1/conversations/${sessionId}/messages`, b)).status).toBe(404);
    // Continuing A's session as B is refused, and nothing is written to it.
    expect((await call('/v1/chat/completions', b, { body: { session_id: sessionId, messages: [{ role: 'user', content: 'hi' }] } })).status).toBe(404);
    const [{ turn_count }] = await gw.ds.query(`SELECT turn_count FROM gateway.conversations WHERE id = $1`, [sessionId]);
    expect(turn_count).toBe(1);

    const feedback = { memberId: 'm1', startDate: '2024-05-01', endDate: '2024-05-31', activity: {}, callbackUrl: 'https://backend.example/hook' };
    const idem = { 'idempotency-key': `shared-${randomUUID()}` };
    const jobA = ((await (await call('/v1/feedback', a, { body: feedback, headers: idem })).json()) as Json).data?.jobId;
    expect(jobA).toEqual(expect.any(String));
    expect((await call(`/v1/feedback/${jobA}`, a)).status).toBe(200);
    expect((await call(`/v1/feedback/${jobA}`, b)).status).toBe(404);
    // The same Idempotency-Key from another tenant is a different job, not A's.
    const jobB = ((await (await call('/v1/feedback', b, { body: feedback, headers: idem })).json()) as Json).data?.jobId;
    expect(jobB).toEqual(expect.any(String));
    expect(jobB).not.toBe(jobA);

    const docId = `doc-${randomUUID()}`;
    expect((await call('/v1/documents', a, { body: { id: docId, title: 't', content: 'c' } })).status).toBe(201);
    expect((await call('/v1/documents', b, { body: { id: docId, title: 't', content: 'c' } })).status).toBe(409);
    expect((await call(`/v1/documents/${docId}`, b, { method: 'DELETE' })).status).toBe(404);
    expect(fakeCalls.ingests.find((d) => d.id === docId)?.metadata).toEqual({ tenant: 'tenant-a' });
    // Search and chat context see only the caller's tenant: a `tenant` filter cannot reach another one.
    expect((await call('/v1/search', b, { body: { query: `find ${docId}`, filters: { tenant: 'tenant-a' } } })).status).toBe(200);
    expect(fakeCalls.searches.find((q) => q.query === `find ${docId}`)?.filters).toEqual({ tenant: 'tenant-b' });
    expect((await call('/v1/chat/completions', b, { body: { messages: [{ role: 'user', content: `tell ${docId}` }], filters: { tenant: 'tenant-a' } } })).status).toBe(200);
    expect(fakeCalls.searches.find((q) => q.query.includes(docId) && q.query !== `find ${docId}`)?.filters).toMatchObject({ tenant: 'tenant-b' });
    expect((await call(`/v1/documents/${docId}`, a, { method: 'DELETE' })).status).toBe(200);

    const keyOfA = ((await (await call('/v1/admin/keys', a)).json()) as Json).data.keys[0].id;
    expect((await call(`/v1/admin/keys/${keyOfA}`, b, { method: 'DELETE' })).status).toBe(404);
    expect((await call('/v1/admin/keys', b, { body: { name: 'x', scopes: ['chat'], tenant: 'tenant-a' } })).status).toBe(403);
  });

  it('sends security headers, a request id, and CORS only to allowed origins', async () => {
    const res = await call('/v1/models', TEST_API_KEY, { headers: { origin: 'https://app.example' } });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('strict-transport-security')).toContain('max-age');
    expect(res.headers.get('x-request-id')).toBe(res.headers.get('x-correlation-id'));
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(res.headers.get('x-powered-by')).toBeNull();
    const other = await call('/v1/models', TEST_API_KEY, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('limits across gateway replicas (integration)', () => {
  const replicas: TestGateway[] = [];
  const limits = {
    RATE_LIMIT_REQUESTS_PER_MIN: '6',
    RATE_LIMIT_TOKENS_PER_MIN: '60',
    RATE_LIMIT_CONCURRENT_STREAMS: '2',
    CHAT_MAX_MESSAGES: '3',
    CHAT_MAX_PROMPT_TOKENS: '50',
    DOCUMENTS_BODY_LIMIT: '8kb',
    BODY_LIMIT: '2kb',
    REQUEST_TIMEOUT_MS: '2000',
    // No LLM query rewrite: its model lookup would dominate the timings this test measures.
    CHAT_QUERY_REWRITE: 'rules',
  };

  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((r) => r.close()));
  });

  async function newKey(gw: TestGateway): Promise<string> {
    return (await gw.app.get(ApiKeysRepository).create({ name: 'limited', scopes: ['chat', 'documents'], tenant: 'default' })).key;
  }

  async function expectSharedRequestBudget(store: Record<string, string>): Promise<void> {
    replicas.push(await startTestGateway({ ...limits, ...store }), await startTestGateway({ ...limits, ...store }));
    const key = await newKey(replicas[0]);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 8; i++) {
      last = await fetch(`${replicas[i % 2].base}/v1/models`, { headers: bearer(key) });
      statuses.push(last.status);
      if (i === 0) expect(last.headers.get('x-ratelimit-remaining')).toBe('5');
    }
    // Six in a minute across both replicas, whichever one answered.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
    expect(last!.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(last!.headers.get('x-ratelimit-limit')).toBe('6');
    expect(last!.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(last!.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    expect(((await last!.json()) as Json).message).toMatch(/rate limit exceeded: requests/);
  }

  it('holds a per-key request limit across two replicas sharing PostgreSQL', async () => {
    await expectSharedRequestBudget({ RATE_LIMIT_STORE: 'postgres' });
  });

  it('holds it across two replicas sharing Redis', async () => {
    await expectSharedRequestBudget({ RATE_LIMIT_STORE: 'redis', REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  });

  it('refuses oversized chats (422), spent token budgets and extra streams (429), big bodies (413) and slow answers (408)', async () => {
    const gw = await startTestGateway({ ...limits, RATE_LIMIT_REQUESTS_PER_MIN: '100' });
    replicas.push(gw);
    const post = async (path: string, key: string, body: unknown) => fetch(`${gw.base}${path}`, { method: 'POST', headers: bearer(key), body: JSON.stringify(body) });
    const user = (content: string) => ({ role: 'user', content });

    const key = await newKey(gw);
    const tooMany = await post('/v1/chat/completions', key, { messages: [user('a'), user('b'), user('c'), user('d')] });
    expect(tooMany.status).toBe(422);
    expect(((await tooMany.json()) as Json).data.errors[0]).toEqual({ field: 'messages', reason: 'at most 3 messages per request (got 4)' });
    const tooLong = await post('/v1/chat/completions', key, { messages: [user('word '.repeat(80))] });
    expect(tooLong.status).toBe(422);
    expect(((await tooLong.json()) as Json).data.errors[0].reason).toMatch(/at most 50 are accepted/);

    // 60 tokens a minute: two ~25-token prompts fit, the third does not.
    const prompt = [user('one two three four five six seven eight nine ten '.repeat(2).trim())];
    const spent = [];
    for (let i = 0; i < 3; i++) spent.push((await post('/v1/chat/completions', key, { messages: prompt })).status);
    expect(spent).toEqual([200, 200, 429]);

    const streamKey = await newKey(gw);
    const controllers = [new AbortController(), new AbortController()];
    const open = await Promise.all(
      controllers.map((c) => fetch(`${gw.base}/v1/chat/stream`, { method: 'POST', headers: bearer(streamKey), body: JSON.stringify({ messages: [user('HOLD')] }), signal: c.signal })),
    );
    expect(open.map((r) => r.status)).toEqual([200, 200]);
    const third = await post('/v1/chat/stream', streamKey, { messages: [user('HOLD')] });
    expect(third.status).toBe(429);
    expect(((await third.json()) as Json).message).toMatch(/streams/);
    for (const c of controllers) c.abort();
    // A closed stream gives its slot back.
    let again = 429;
    for (let i = 0; i < 20 && again === 429; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const res = await post('/v1/chat/completions', streamKey, { stream: true, messages: [user('hi')] });
      again = res.status;
      await res.text();
    }
    expect(again).toBe(200);

    const big = await post('/v1/search', key, { query: 'x'.repeat(3000) });
    expect(big.status).toBe(413);
    // Documents get their own, larger limit.
    expect((await post('/v1/documents', key, { id: `doc-${randomUUID()}`, title: 't', content: 'x'.repeat(3000) })).status).toBe(201);
    expect((await post('/v1/documents', key, { title: 't', content: 'x'.repeat(9000) })).status).toBe(413);

    const slow = await post('/v1/search', key, { query: 'HANG' });
    expect(slow.status).toBe(408);
    expect(await slow.json()).toMatchObject({ status: 'error', message: 'request not answered within 2000 ms', request_id: expect.any(String) });
  });
});

