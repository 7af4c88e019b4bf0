import { randomUUID } from 'node:crypto';
import openapi from '../../openapi.json';
import { TEST_API_KEY } from '../../test/auth';
import { startTestGateway, type TestGateway } from '../../test/security-fixture';
import { ApiKeysRepository } from '../auth/api-keys.repository';

/*
 * Tries to break every /v1 route: a corpus of bad inputs per route (every answer a 4xx with a
 * reason and a request id, nothing written to the database), then a time-bounded fuzz run
 * generated from the served OpenAPI document with zero 5xx.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

jest.setTimeout(120_000);

const FUZZ_BUDGET_MS = Number(process.env.RAGMESH_FUZZ_MS ?? 10_000);
// Small body limits keep the oversized requests cheap; the huge strings stay under them so the schemas' own maxima are what refuses them.
const LIMITS = { BODY_LIMIT: '256kb', DOCUMENTS_BODY_LIMIT: '1mb' };
const TABLES = ['conversations', 'messages', 'feedback_jobs', 'outbox', 'document_owners', 'api_keys', 'processed_messages'];

interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /** A body the route accepts; its fields are what the corpus mutates. */
  valid?: Record<string, unknown>;
  /** Fields where a corpus rule does not make the input bad, and why. */
  lenient?: Record<string, string>;
}

const user = (content: unknown) => ({ role: 'user', content });

/** One route per operation of the OpenAPI document (checked below), with path ids that exist nowhere. */
const ROUTES: Route[] = [
  {
    method: 'POST',
    path: '/v1/documents',
    valid: { id: 'doc-corpus', title: 'Seoul', content: 'Seoul is the capital.', format: 'markdown', metadata: { lang: 'en' }, published_at: '2024-05-01', collection: 'c' },
    lenient: { content: 'documents may be 2M characters' },
  },
  { method: 'DELETE', path: '/v1/documents/{id}' },
  { method: 'POST', path: '/v1/search', valid: { query: 'capital', top_k: 3, filters: { lang: 'en' }, time_range_months: 6, bm25_weight: 0.5 } },
  { method: 'POST', path: '/v1/chat/completions', valid: { model: 'fake-model', messages: [user('hi')], max_tokens: 5, temperature: 0.5, top_k: 2 } },
  { method: 'POST', path: '/v1/chat/stream', valid: { messages: [user('hi')], max_tokens: 5, top_k: 2 } },
  { method: 'GET', path: '/v1/chat/stream/{stream_id}' },
  { method: 'GET', path: '/v1/models' },
  { method: 'GET', path: '/v1/conversations/{id}' },
  { method: 'GET', path: '/v1/conversations/{id}/messages' },
  { method: 'GET', path: '/v1/conversations/{id}/messages/{index}/references' },
  {
    method: 'POST',
    path: '/v1/feedback',
    lenient: { memberId: 'numeric member ids are accepted and kept as text' },
    valid: { memberId: 'm-1', startDate: '2024-05-01', endDate: [2024, 5, 31], activity: { challenges: [{ title: 't', category: 'c', achieved: 1, total: 2 }] }, callbackUrl: 'https://backend.example/hook' },
  },
  { method: 'GET', path: '/v1/feedback/{jobId}' },
  { method: 'POST', path: '/v1/admin/keys', valid: { name: 'k', scopes: ['chat'], expires_at: '2999-01-01T00:00:00Z' } },
  { method: 'GET', path: '/v1/admin/keys' },
  { method: 'DELETE', path: '/v1/admin/keys/{id}' },
  { method: 'GET', path: '/v1/admin/dead-letters' },
  { method: 'GET', path: '/v1/admin/dead-letters/{queue}' },
  { method: 'POST', path: '/v1/admin/dead-letters/{queue}/replay' },
  { method: 'POST', path: '/v1/admin/dead-letters/{queue}/{messageId}/replay' },
];

const unknown = randomUUID();
/** Concrete paths naming things that exist nowhere (or ids that are not ids at all). */
const UNKNOWN_ID_PATHS: Record<string, string[]> = {
  '/v1/documents/{id}': ['/v1/documents/no-such-document', '/v1/documents/%00', `/v1/documents/${'d'.repeat(5000)}`],
  '/v1/conversations/{id}': [`/v1/conversations/${unknown}`, '/v1/conversations/not-a-uuid', '/v1/conversations/%00', "/v1/conversations/1'%20OR%20'1'='1"],
  '/v1/conversations/{id}/messages': [`/v1/conversations/${unknown}/messages`, `/v1/conversations/${'x'.repeat(300)}/messages`, `/v1/conversations/${unknown}/messages?limit=-1&last_index=1e99`],
  '/v1/conversations/{id}/messages/{index}/references': [`/v1/conversations/${unknown}/messages/0/references`, `/v1/conversations/${unknown}/messages/-1/references`, `/v1/conversations/${unknown}/messages/99999999999999999999/references`],
  '/v1/chat/stream/{stream_id}': [`/v1/chat/stream/${unknown}`, '/v1/chat/stream/not-a-uuid', `/v1/chat/stream/${unknown}?last_event_id=-1`],
  '/v1/feedback/{jobId}': [`/v1/feedback/${unknown}`, '/v1/feedback/..%2F..%2Fetc%2Fpasswd', '/v1/feedback/-1'],
  '/v1/admin/keys/{id}': [`/v1/admin/keys/${unknown}`, '/v1/admin/keys/00000000-0000-0000-0000-00000000000g'],
  '/v1/admin/dead-letters/{queue}': ['/v1/admin/dead-letters/no-such-queue', '/v1/admin/dead-letters/feedback-worker.requests?limit=-3'],
  '/v1/admin/dead-letters/{queue}/replay': ['/v1/admin/dead-letters/no-such-queue/replay', '/v1/admin/dead-letters/feedback-worker.requests/replay?limit=1e9'],
  '/v1/admin/dead-letters/{queue}/{messageId}/replay': [`/v1/admin/dead-letters/no-such-queue/${unknown}/replay`, `/v1/admin/dead-letters/gateway.feedback-status/${unknown}/replay`],
};

interface Mutation {
  name: string;
  body: unknown;
  /** False where the mutation may be valid (an optional field left out, null for an OpenAI-nullable field): then only "no 5xx, no write" is asked. */
  mustRefuse: boolean;
}

const HUGE = 'x'.repeat(200_000);
/** Values of the wrong JSON type for a field whose valid value is of this type. */
const WRONG_TYPES: Record<string, unknown[]> = {
  string: [42, true, [], {}, [['nested']]],
  number: ['x', true, [], {}, '1'],
  array: ['x', 42, {}, true],
  object: ['x', 42, [], true],
  boolean: ['x', 42, [], {}],
};
const BAD_NUMBERS = [-1, 1e308, -1e308, 2 ** 64];

const kindOf = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

/**
 * The bad bodies made from one valid body: each field of a wrong type, with a NUL character,
 * far too long, negative/enormous/fractional where a number belongs; plus whole bodies of the
 * wrong shape. `lenient` names fields where a rule does not apply, with the reason.
 */
function corpusBodies(valid: Record<string, unknown>, lenient: Record<string, string> = {}): Mutation[] {
  const out: Mutation[] = [
    { name: 'empty object', body: {}, mustRefuse: true },
    { name: 'array body', body: [valid], mustRefuse: true },
    { name: 'string body', body: 'hello', mustRefuse: true },
    { name: 'number body', body: 12, mustRefuse: true },
    { name: 'null body', body: null, mustRefuse: true },
    { name: 'extra fields', body: { ...valid, zzz_unknown: { nested: true } }, mustRefuse: false },
  ];
  for (const [field, value] of Object.entries(valid)) {
    const { [field]: _dropped, ...without } = valid;
    const strict = !(field in lenient);
    const put = (name: string, v: unknown, mustRefuse = strict) => out.push({ name: `${field} ${name}`, body: { ...valid, [field]: v }, mustRefuse });
    out.push({ name: `missing ${field}`, body: without, mustRefuse: false });
    put('null', null, false);
    for (const wrong of WRONG_TYPES[kindOf(value)] ?? []) put(`= ${JSON.stringify(wrong)}`, wrong);
    if (typeof value === 'string') {
      put('with NUL', `${value}\u0000`, true);
      // JSON.stringify writes it as the escape "\ud800", which JSON.parse takes and PostgreSQL's jsonb does not.
      put('with a lone surrogate', `${value}\ud800`, true);
      put('huge', HUGE);
    }
    if (typeof value === 'number') for (const n of Number.isInteger(value) ? [...BAD_NUMBERS, 0.5] : BAD_NUMBERS) put(`= ${n}`, n);
    if (Array.isArray(value)) put('huge array', Array.from({ length: 20_000 }, () => value[0]));
  }
  return out;
}

describe('bad input on every route (integration)', () => {
  let gw: TestGateway;
  let otherTenantKey: string;
  const send = (method: string, path: string, init: { body?: string | Buffer; headers?: Record<string, string> } = {}) =>
    fetch(`${gw.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json', ...init.headers },
      body: method === 'GET' ? undefined : init.body,
    });
  const counts = async () => {
    const rows: { t: string; n: string }[] = await gw.ds.query(TABLES.map((t) => `SELECT '${t}' AS t, count(*) AS n FROM gateway.${t}`).join(' UNION ALL '));
    return Object.fromEntries(rows.map((r) => [r.t, Number(r.n)]));
  };
  const failures: string[] = [];
  /** A refusal: 4xx, an envelope with a non-empty reason and the request id. Anything else is collected as a failure. */
  const expectRefused = async (what: string, res: Response, allowSuccess = false) => {
    const text = await res.text();
    if (res.status >= 500) return failures.push(`${what}: ${res.status} ${text.slice(0, 200)}`);
    if (res.status < 400) {
      if (!allowSuccess) failures.push(`${what}: accepted with ${res.status}`);
      return;
    }
    let body: Json;
    try {
      body = JSON.parse(text);
    } catch {
      return failures.push(`${what}: ${res.status} without a JSON body`);
    }
    if (typeof body.message !== 'string' || body.message === '' || typeof body.request_id !== 'string' || body.request_id === '') {
      failures.push(`${what}: ${res.status} without a reason or request id: ${text.slice(0, 200)}`);
    }
  };

  beforeAll(async () => {
    gw = await startTestGateway({ ...LIMITS, RATE_LIMIT_REQUESTS_PER_MIN: '1000000', RATE_LIMIT_TOKENS_PER_MIN: '1000000000', CHAT_QUERY_REWRITE: 'rules' });
    otherTenantKey = (await gw.app.get(ApiKeysRepository).create({ name: 'other', scopes: ['chat', 'documents', 'feedback', 'admin'], tenant: 'other-tenant' })).key;
  });

  afterAll(async () => {
    // Hundreds of requests on the shared test key: leave its budgets clean for the next spec file,
    // whose gateway counts against the same PostgreSQL store with the default limits.
    await gw?.ds.query('DELETE FROM gateway.rate_limits');
    await gw?.close();
  });

  it('covers every operation of the OpenAPI document', () => {
    const documented = Object.entries(openapi.paths as Record<string, object>)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(ROUTES.map((r) => `${r.method} ${r.path}`).sort()).toEqual(documented.sort());
  });

  it('answers every bad input with a 4xx and a reason, and writes nothing', async () => {
    const before = await counts();
    let sent = 0;
    for (const route of ROUTES) {
      const paths = route.path.includes('{') ? (UNKNOWN_ID_PATHS[route.path] ?? []) : [route.path];
      expect({ route: route.path, paths: paths.length > 0 }).toEqual({ route: route.path, paths: true });
      for (const path of paths) {
        const tag = `${route.method} ${path}`;
        // Missing, wrong, expired-looking and other-tenant keys.
        await expectRefused(`${tag} without a key`, await fetch(`${gw.base}${path}`, { method: route.method }));
        await expectRefused(`${tag} with a malformed key`, await send(route.method, path, { headers: { authorization: 'Bearer rgm_live_short' } }));
        await expectRefused(`${tag} with an unknown key`, await send(route.method, path, { headers: { authorization: `Bearer rgm_live_${'0'.repeat(32)}` } }));
        sent += 3;
        if (route.path.includes('{')) {
          await expectRefused(`${tag} unknown id`, await send(route.method, path, { body: '{}' }));
          sent++;
        }
        if (route.method !== 'POST') continue;
        await expectRefused(`${tag} malformed JSON`, await send('POST', path, { body: '{"messages": [' }));
        await expectRefused(`${tag} invalid UTF-8`, await send('POST', path, { body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0xff, 0x22, 0x7d]) }));
        await expectRefused(`${tag} deep nesting`, await send('POST', path, { body: `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}` }));
        await expectRefused(`${tag} over the body limit`, await send('POST', path, { body: JSON.stringify({ pad: 'x'.repeat(1100 * 1024) }) }));
        sent += 4;
        for (const { name, body, mustRefuse } of route.valid ? corpusBodies(route.valid, route.lenient) : []) {
          // Valid-looking mutations (an optional field left out) must only not fail or write half; they are not sent, so nothing is written.
          if (!mustRefuse) continue;
          await expectRefused(`${tag} ${name}`, await send('POST', path, { body: JSON.stringify(body) }));
          sent++;
        }
      }
    }
    // Other tenants' objects: created by the test key's tenant, asked for by another tenant.
    const chat = await send('POST', '/v1/chat/completions', { body: JSON.stringify({ messages: [user('hello')] }) });
    const sessionId = chat.headers.get('x-session-id') ?? '';
    const feedback = ROUTES.find((r) => r.path === '/v1/feedback')?.valid;
    const job = ((await (await send('POST', '/v1/feedback', { body: JSON.stringify(feedback) })).json()) as Json).data.jobId as string;
    const after = await counts();
    for (const path of [`/v1/conversations/${sessionId}`, `/v1/conversations/${sessionId}/messages`, `/v1/conversations/${sessionId}/messages/0/references`, `/v1/feedback/${job}`]) {
      const res = await send('GET', path, { headers: { authorization: `Bearer ${otherTenantKey}` } });
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
    const continued = await send('POST', '/v1/chat/completions', { body: JSON.stringify({ session_id: sessionId, messages: [user('x')] }), headers: { authorization: `Bearer ${otherTenantKey}` } });
    expect(continued.status).toBe(404);

    expect(failures).toEqual([]);
    console.log(`corpus: ${sent} bad requests over ${ROUTES.length} routes`);
    expect(sent).toBeGreaterThan(250);
    // Only the two valid requests above wrote anything (a conversation + 2 messages, a job + its outbox row).
    expect(before).toEqual({ ...after, conversations: after.conversations - 1, messages: after.messages - 2, feedback_jobs: after.feedback_jobs - 1, outbox: after.outbox - 1 });
    expect(await counts()).toEqual(after);
  });

  it("answers another tenant's stream resume with 404, as for an unknown stream", async () => {
    const stream = await send('POST', '/v1/chat/stream', { body: JSON.stringify({ messages: [user('hello')] }) });
    expect(stream.status).toBe(200);
    await stream.text();
    const streamId = stream.headers.get('x-stream-id') ?? '';
    const other = { authorization: `Bearer ${otherTenantKey}` };
    const resumes = [
      () => send('GET', `/v1/chat/stream/${streamId}?last_event_id=0`, { headers: other }),
      () => send('POST', '/v1/chat/stream', { body: '{}', headers: { ...other, 'last-event-id': '0', 'x-stream-id': streamId } }),
    ];
    for (const resume of resumes) {
      const res = await resume();
      expect({ status: res.status, message: ((await res.json()) as Json).message }).toEqual({ status: 404, message: `stream ${streamId} not found on this gateway` });
    }
    // The owner's tenant still replays it.
    const own = await send('GET', `/v1/chat/stream/${streamId}?last_event_id=0`);
    expect(own.status).toBe(200);
    expect(await own.text()).toContain('event: done');
  });

  it('survives a time-bounded fuzz run generated from /openapi.json with zero 5xx', async () => {
    const doc = (await (await fetch(`${gw.base}/openapi.json`)).json()) as Json;
    const random = seeded(Number(process.env.RAGMESH_FUZZ_SEED ?? Date.now() % 1_000_000));
    const operations = Object.entries(doc.paths as Record<string, Record<string, Json>>)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));
    const deadline = Date.now() + FUZZ_BUDGET_MS;
    const statuses: Record<string, number> = {};
    const fiveHundreds: string[] = [];
    let requests = 0;
    while (Date.now() < deadline) {
      const { path, method, op } = random.pick(operations);
      const url = path.replace(/\{[^}]+\}/g, () => encodeURIComponent(String(random.pick([randomUUID(), random.string(), random.int(), '0', '-1', '1e400']))));
      const schema = op.requestBody?.content?.['application/json']?.schema;
      const body = schema ? JSON.stringify(random.chance(0.7) ? fromSchema(doc, schema, random, 0) : random.json(0)) : undefined;
      const query = random.chance(0.3) ? `?limit=${random.pick(['0', '-5', '1e9', 'x', '50'])}&last_index=${random.pick(['-1', '3', 'abc'])}` : '';
      const res = await send(method, `${url}${query}`, { body, headers: random.chance(0.05) ? { authorization: 'Bearer nope' } : {} });
      const text = await res.text();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      requests++;
      if (res.status >= 500) fiveHundreds.push(`${method} ${url}${query} ${body?.slice(0, 300)} -> ${res.status} ${text.slice(0, 200)}`);
    }
    console.log(`fuzz: ${requests} requests in ${FUZZ_BUDGET_MS} ms, statuses ${JSON.stringify(statuses)}`);
    expect(fiveHundreds).toEqual([]);
    expect(requests).toBeGreaterThan(100);
  });
});

interface Random {
  next(): number;
  chance(p: number): boolean;
  int(): number;
  pick<T>(items: readonly T[]): T;
  string(): string;
  json(depth: number): unknown;
}

/** mulberry32: a seeded generator, so a failing run can be replayed with RAGMESH_FUZZ_SEED. */
function seeded(seed: number): Random {
  console.log(`fuzz seed ${seed}`);
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r: Random = {
    next,
    chance: (p) => next() < p,
    int: () => r.pick([0, -1, 1, 7, 2 ** 31, -(2 ** 53), 1e21, 0.5, Number.MAX_SAFE_INTEGER]),
    pick: (items) => items[Math.floor(next() * items.length)],
    string: () => r.pick(['', ' ', 'a', '한국어 질문', 'x'.repeat(Math.floor(next() * 5000)), '\u0000\uffff', '<script>', '../..', '%s%n', '🙂'.repeat(10), randomUUID()]),
    json: (depth) => {
      const kind = depth > 3 ? r.pick(['s', 'n', 'b']) : r.pick(['s', 'n', 'b', 'null', 'a', 'o']);
      if (kind === 's') return r.string();
      if (kind === 'n') return r.int();
      if (kind === 'b') return r.chance(0.5);
      if (kind === 'null') return null;
      if (kind === 'a') return Array.from({ length: Math.floor(next() * 4) }, () => r.json(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, () => [r.string().slice(0, 20), r.json(depth + 1)]));
    },
  };
  return r;
}

/** A value shaped by the schema most of the time, and wrong in one random place some of the time. */
function fromSchema(doc: Json, schema: Json, r: Random, depth: number): unknown {
  if (schema.$ref) return fromSchema(doc, schema.$ref.split('/').slice(1).reduce((node: Json, key: string) => node[key], doc), r, depth);
  if (depth > 5 || r.chance(0.08)) return r.json(depth);
  const options = schema.oneOf ?? schema.anyOf;
  if (options) return fromSchema(doc, r.pick(options), r, depth + 1);
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return r.pick(schema.enum);
  const type = Array.isArray(schema.type) ? r.pick(schema.type) : schema.type;
  switch (type) {
    case 'object': {
      const props = (schema.properties ?? {}) as Record<string, Json>;
      return Object.fromEntries(
        Object.entries(props)
          .filter(([name]) => (schema.required ?? []).includes(name) || r.chance(0.5))
          .map(([name, prop]) => [name, fromSchema(doc, prop, r, depth + 1)]),
      );
    }
    case 'array':
      return Array.from({ length: Math.floor(r.next() * 4) + (schema.minItems ?? 0) }, () => fromSchema(doc, schema.items ?? {}, r, depth + 1));
    case 'string':
      return schema.format === 'date-time' || schema.format === 'date' ? r.pick(['2024-05-01', '2024-13-45', new Date().toISOString()]) : r.string();
    case 'integer':
    case 'number':
      return r.chance(0.5) ? (schema.minimum ?? 0) + Math.floor(r.next() * 10) : r.int();
    case 'boolean':
      return r.chance(0.5);
    default:
      return r.json(depth);
  }
}
