import * as grpc from '@grpc/grpc-js';
import { generation, registry } from '@ragmesh/contracts';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
// The fake upstream is a dev tool, not a lib; only tests reach for it.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { FakeOpenAi, startFakeOpenAi } from '../../../../tools/fake-openai/src/server';
import { RunningModelRegistry, startModelRegistry } from '../app';
import { loadAppConfig } from '../config';
import { datasetSignature } from '../http/admin-auth';
import { Callback, eventually, freePort, registryClient, unary } from '../../test/it-helpers';

jest.setTimeout(30_000);

type RegistryClient = {
  registerUpstream(req: Partial<registry.RegisterUpstreamRequest>, cb: Callback<registry.Upstream>): grpc.ClientUnaryCall;
  listUpstreams(req: object, cb: Callback<registry.ListUpstreamsResponse>): grpc.ClientUnaryCall;
  listModels(req: object, cb: Callback<generation.ListModelsResponse>): grpc.ClientUnaryCall;
};

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh';
const run = randomBytes(4).toString('hex');
// A schema of its own: repeated runs and a running registry never see each other's rows.
const schema = `registry_it_${run}`;
const ADMIN_TOKEN = `it-admin-${run}`;
const adminFetch = (url: string, init: RequestInit = {}) => fetch(url, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers as Record<string, string>) } });

describe('model-registry against PostgreSQL', () => {
  let fake: FakeOpenAi;
  let registryApp: RunningModelRegistry;
  let client: RegistryClient & grpc.Client;
  let http: string;

  beforeAll(async () => {
    fake = await startFakeOpenAi({ port: 0 });
    const grpcPort = await freePort();
    const config = loadAppConfig({
      DATABASE_URL,
      AMQP_URL: process.env.AMQP_URL,
      LOG_LEVEL: 'silent',
      REGISTRY_GRPC_PORT: String(grpcPort),
      REGISTRY_HTTP_PORT: '0',
      OPS_PORT: '0',
      REGISTRY_POLL_MS: '200',
      REGISTRY_PROBE_TIMEOUT_MS: '1000',
      GENERATION_UPSTREAM_URL: `${fake.url}/v1`,
      REGISTRY_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    registryApp = await startModelRegistry(config, { schema });
    http = `http://127.0.0.1:${registryApp.httpPort}`;
    client = registryClient<RegistryClient>(`127.0.0.1:${grpcPort}`);
  });

  afterAll(async () => {
    client?.close();
    await registryApp?.close();
    await fake?.close();
    const pg = new Client({ connectionString: DATABASE_URL });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pg.end();
  });

  const listUpstreams = () => unary<registry.ListUpstreamsResponse>((cb) => client.listUpstreams({}, cb));

  it('seeds the local engine and the configured default upstream', async () => {
    const { upstreams } = await eventually(listUpstreams, (r) => r.upstreams.some((u) => u.name === 'default' && u.status === 'up'));
    const local = upstreams.find((u) => u.name === 'local');
    expect(local).toMatchObject({ kind: 'local', status: 'up', models: ['local-extractive', 'local-extractive-summarizer'] });
    // ".../v1" is stored without the suffix: the watcher appends /health and /v1/models.
    expect(upstreams.find((u) => u.name === 'default')).toMatchObject({ baseUrl: fake.url, models: ['fake-model'] });
  });

  it('registers an upstream that the watcher marks up with its models, and lists them', async () => {
    const name = `it-vllm-${run}`;
    const registered = await unary<registry.Upstream>((cb) =>
      client.registerUpstream({ name, baseUrl: `${fake.url}/`, kind: 'vllm' }, cb),
    );
    expect(registered).toMatchObject({ name, baseUrl: fake.url, kind: 'vllm', status: 'unknown' });
    expect(registered.id).toMatch(/^[0-9a-f-]{36}$/);

    const { upstreams } = await eventually(listUpstreams, (r) => r.upstreams.some((u) => u.name === name && u.status === 'up'));
    const watched = upstreams.find((u) => u.name === name);
    expect(watched?.models).toEqual(['fake-model']);
    expect(watched?.lastError).toBe('');
    expect(Number.isNaN(Date.parse(watched?.checkedAt ?? ''))).toBe(false);

    const { models } = await unary<generation.ListModelsResponse>((cb) => client.listModels({}, cb));
    expect(models).toContainEqual({ id: 'fake-model', ownedBy: name, upstream: name, kind: 'vllm' });
    expect(models[0]).toEqual({ id: 'local-extractive', ownedBy: 'local', upstream: 'local', kind: 'local' });
  });

  it('marks an unreachable upstream down with the reason and leaves its models out', async () => {
    const name = `it-down-${run}`;
    const deadPort = await freePort();
    await unary<registry.Upstream>((cb) =>
      client.registerUpstream({ name, baseUrl: `http://127.0.0.1:${deadPort}`, kind: 'ray-serve', models: ['ghost-model'] }, cb),
    );
    const { upstreams } = await eventually(listUpstreams, (r) => r.upstreams.some((u) => u.name === name && u.status === 'down'));
    expect(upstreams.find((u) => u.name === name)?.lastError).toMatch(/ECONNREFUSED/);
    const { models } = await unary<generation.ListModelsResponse>((cb) => client.listModels({}, cb));
    expect(models.map((m) => m.id)).not.toContain('ghost-model');
  });

  it.each([
    [{ name: 'Bad Name', baseUrl: 'http://x:1', kind: 'vllm' }, /^name: /],
    [{ name: 'ok-name', baseUrl: 'ftp://x', kind: 'vllm' }, /^base_url: must be an absolute http\(s\) URL/],
    [{ name: 'ok-name', baseUrl: 'http://x:1', kind: 'tgi' }, /^kind: must be one of vllm, ray-serve, openai-compatible/],
    [{ name: 'local', baseUrl: 'http://x:1', kind: 'vllm' }, /^name: is reserved/],
  ])('rejects %j over gRPC with INVALID_ARGUMENT', async (request, message) => {
    const err = await unary((cb) => client.registerUpstream(request, cb)).catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((err as grpc.ServiceError).details).toMatch(message);
  });

  describe('admin REST', () => {
    it('refuses every route without the admin token with 401, and lets a signed link read only its dataset version', async () => {
      const routes: [string, string][] = [
        ['GET', '/v1/upstreams'],
        ['POST', '/v1/upstreams'],
        ['DELETE', '/v1/upstreams/local'],
        ['GET', '/v1/models'],
        ['GET', '/v1/admin/models'],
        ['GET', '/v1/admin/status'],
        ['PUT', '/v1/admin/settings'],
        ['POST', '/v1/admin/runs'],
        ['POST', '/v1/admin/adapters/rollback'],
        ['GET', '/v1/admin/datasets/1/examples.jsonl'],
        ['GET', `/v1/admin/datasets/2/examples.jsonl?sig=${datasetSignature(ADMIN_TOKEN, 1)}`],
        ['GET', `/v1/admin/datasets/1/examples.jsonl?sig=${datasetSignature('another-token', 1)}`],
        ['GET', '/v1/nothing'],
      ];
      for (const [method, path] of routes) {
        for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { authorization: ADMIN_TOKEN }] as Record<string, string>[]) {
          const res = await fetch(`${http}${path}`, { method, headers });
          const body = (await res.json()) as { status: string; message: string };
          expect({ method, path, headers, status: res.status, body }).toEqual({ method, path, headers, status: 401, body: { status: 'error', message: expect.stringMatching(/admin token/), data: null } });
          expect(res.headers.get('www-authenticate')).toBe('Bearer realm="model-registry"');
        }
      }
      // The signature of version 1 opens version 1 (which does not exist here: 404 from the route, past the check).
      const signed = await fetch(`${http}/v1/admin/datasets/1/examples.jsonl?sig=${datasetSignature(ADMIN_TOKEN, 1)}`);
      expect(signed.status).toBe(404);
      // Health and metrics stay open on the ops port.
      expect((await fetch(`http://127.0.0.1:${registryApp.opsPort}/metrics`)).status).toBe(200);
    });

    it('lists upstreams in the envelope', async () => {
      const res = await adminFetch(`${http}/v1/upstreams`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { status: string; data: { upstreams: { name: string; base_url: string }[] } };
      expect(body.status).toBe('ok');
      expect(body.data.upstreams.map((u) => u.name)).toContain('local');
      const models = (await (await adminFetch(`${http}/v1/models`)).json()) as { data: { models: { id: string; owned_by: string }[] } };
      expect(models.data.models[0]).toEqual({ id: 'local-extractive', owned_by: 'local', upstream: 'local', kind: 'local' });
    });

    it('registers an upstream with 201', async () => {
      const name = `it-rest-${run}`;
      const res = await adminFetch(`${http}/v1/upstreams`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, base_url: fake.url, kind: 'openai-compatible' }),
      });
      expect(res.status).toBe(201);
      const body = (await res.json()) as { status: string; data: { upstream: { name: string; base_url: string; status: string } } };
      expect(body).toMatchObject({ status: 'ok', data: { upstream: { name, base_url: fake.url, status: 'unknown' } } });
    });

    it('answers 400 naming every bad field', async () => {
      const res = await adminFetch(`${http}/v1/upstreams`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'UPPER', base_url: 'not a url', kind: 'vllm' }),
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { status: string; message: string; data: { errors: { field: string; reason: string }[] } };
      expect(body.status).toBe('error');
      expect(body.data.errors.map((e) => e.field)).toEqual(['name', 'base_url']);
    });

    it('answers malformed JSON and unknown routes in the envelope', async () => {
      const bad = await adminFetch(`${http}/v1/upstreams`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"name": ',
      });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ status: 'error' });
      const missing = await adminFetch(`${http}/v1/nothing`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ status: 'error', data: null });
    });
  });

  it('is ready while PostgreSQL answers', async () => {
    const res = await fetch(`http://127.0.0.1:${registryApp.opsPort}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ checks: { postgres: { status: 'ok' } } });
  });
});
