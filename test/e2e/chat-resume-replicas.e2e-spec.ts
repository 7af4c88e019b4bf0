import { type ChildProcess, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { EventSourceMessage } from 'eventsource-parser';
import { freePort } from '@ragmesh/testing';
import { Client } from 'pg';
import { authHeaders, DIST, pollUntil, ROOT, type RunningMesh, startMesh } from './harness';
import { fakeAnswer, fakeStatsAt, readEvents, startFakeProcess, tokenText } from './stream-support';

/*
 * Resume on any gateway replica, over real processes: two gateways (A = `gateway`, B =
 * `gateway-2`) on one PostgreSQL and RabbitMQ, the generation proxy on a slow fake vLLM. A
 * stream started on A is resumed through B: B finds A in the replica directory and relays A's
 * answer. Proves: the remaining events arrive exactly once and in order through `done` while
 * generation still runs, and again for a finished stream; the upstream generates once; the
 * owner still refuses another tenant's key; an unknown replica is 404; and once A is stopped,
 * B answers 410 naming it.
 */

const REPLY_TOKENS = 60;
const TOKEN_DELAY_MS = 50;
// A replica not seen for 3 heartbeats (6 s) is gone: rows this spec writes itself stay live for its checks.
const HEARTBEAT_MS = 2000;
const FULL_ANSWER = fakeAnswer(REPLY_TOKENS);

let mesh: RunningMesh;
let gatewayA: string;
let gatewayB: string;
let fake: ChildProcess;
let fakeUrl: string;

const fakeStats = () => fakeStatsAt(fakeUrl);
const idle = () => pollUntil(async () => ((await fakeStats()).active === 0 ? true : undefined), 15_000, 'the fake upstream to be idle');

const chatBody = () => ({ messages: [{ role: 'user', content: 'Tell me a story' }], rag: false });

function startStream(gateway: string, signal?: AbortSignal): Promise<Response> {
  return fetch(`${gateway}/v1/chat/stream`, {
    method: 'POST',
    headers: authHeaders({ 'content-type': 'application/json' }),
    body: JSON.stringify(chatBody()),
    signal,
  });
}

const tokens = (events: EventSourceMessage[]) => events.filter((e) => e.event === 'token').length;

/** Ids 1…n with none missing or repeated. */
function expectConsecutiveIds(events: EventSourceMessage[]): void {
  const ids = events.map((e) => Number(e.id));
  expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1));
}

/** Starts a stream on A and drops it after a few tokens; returns the stream id and what was seen. */
async function droppedOnA(): Promise<{ streamId: string; seen: EventSourceMessage[] }> {
  const abort = new AbortController();
  const first = await startStream(gatewayA, abort.signal);
  expect(first.status).toBe(200);
  const streamId = first.headers.get('x-stream-id')!;
  const seen = await readEvents(first, abort, (e) => tokens(e) >= 5);
  expect(JSON.parse(seen[0].data)).toMatchObject({ stream_id: streamId });
  return { streamId, seen };
}

/** A chat key of another tenant, made with the keys CLI (an admin key makes keys for its own tenant only). */
function createKey(tenant: string): string {
  const out = execFileSync(
    process.execPath,
    ['-r', join(ROOT, 'scripts', 'register-paths.js'), join(DIST, 'apps', 'gateway', 'src', 'main.js'), 'keys', 'create', '--name', `${tenant}-chat`, '--scopes', 'chat', '--tenant', tenant],
    { cwd: ROOT, env: { ...process.env, RAGMESH_DIST: DIST, DATABASE_URL: mesh.databaseUrl, LOG_LEVEL: 'warn' }, encoding: 'utf8' },
  );
  const match = /key \(shown only this once\): (\S+)/.exec(out);
  if (!match) throw new Error(`keys create printed no key: ${out}`);
  return match[1];
}

async function withDatabase<T>(fn: (db: Client) => Promise<T>): Promise<T> {
  const db = new Client({ connectionString: mesh.databaseUrl });
  await db.connect();
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

async function replicaRows(): Promise<{ id: string; internal_url: string; stopped: boolean }[]> {
  return withDatabase(async (db) => {
    const { rows } = await db.query<{ id: string; internal_url: string; stopped: boolean }>(
      'SELECT id, internal_url, stopped_at IS NOT NULL AS stopped FROM gateway.replicas ORDER BY internal_url',
    );
    return rows;
  });
}

/** A directory row as a replica writes it (seen now), for replicas this spec makes up. */
const registerReplica = (id: string, internalUrl: string) =>
  withDatabase((db) => db.query('INSERT INTO gateway.replicas (id, internal_url) VALUES ($1, $2)', [id, internalUrl]));

beforeAll(async () => {
  const started = await startFakeProcess({ tokenDelayMs: TOKEN_DELAY_MS, replyTokens: REPLY_TOKENS });
  fake = started.child;
  fakeUrl = started.url;
  mesh = await startMesh(
    {
      GENERATION_UPSTREAMS: fakeUrl,
      CHAT_QUERY_REWRITE: 'rules',
      // Long enough that a dropped stream keeps generating while the client reconnects elsewhere.
      CHAT_RESUME_GRACE_MS: '5000',
      CHAT_RESUME_RETENTION_MS: '60000',
      GATEWAY_REPLICA_HEARTBEAT_MS: String(HEARTBEAT_MS),
      LOG_LEVEL: 'info',
    },
    { secondGateway: true },
  );
  gatewayA = mesh.gatewayUrl;
  gatewayB = mesh.secondGatewayUrl!;
}, 180_000);

afterAll(async () => {
  await mesh?.stop();
  fake?.kill('SIGTERM');
});

beforeEach(() => idle());

describe('resume on another gateway replica', () => {
  it('registers both replicas in the directory with their internal URLs', async () => {
    const rows = await replicaRows();
    expect(rows.map((r) => [r.internal_url, r.stopped])).toEqual([
      [gatewayA, false],
      [gatewayB, false],
    ]);
    expect(new Set(rows.map((r) => r.id)).size).toBe(2);
  });

  it('relays a running stream from A through B: the remaining events once each, through done', async () => {
    const before = await fakeStats();
    const { streamId, seen } = await droppedOnA();
    const owner = streamId.split('.')[0];
    expect((await replicaRows()).find((r) => r.internal_url === gatewayA)?.id).toBe(owner);
    const lastId = seen.at(-1)!.id!;

    const resumed = await fetch(`${gatewayB}/v1/chat/stream/${streamId}`, { headers: authHeaders({ 'last-event-id': lastId }) });
    expect(resumed.status).toBe(200);
    // A is still generating: what follows is relayed live, not only replayed.
    expect((await fakeStats()).active).toBe(1);
    expect(resumed.headers.get('content-type')).toContain('text/event-stream');
    expect(resumed.headers.get('x-stream-id')).toBe(streamId);
    const rest = await readEvents(resumed);

    expect(rest[0].id).toBe(String(Number(lastId) + 1));
    expectConsecutiveIds([...seen, ...rest]);
    expect(rest.at(-1)?.event).toBe('done');
    expect(tokenText(seen) + tokenText(rest)).toBe(FULL_ANSWER);

    const after = await fakeStats();
    expect(after.requests).toBe(before.requests + 1);
    expect(after.aborted).toBe(before.aborted);
    expect(after.completed).toBe(before.completed + 1);
    expect(mesh.logOf('gateway-2')).not.toContain('resume not forwarded');
  }, 30_000);

  it('relays a finished stream through B from any id (POST with X-Stream-Id too), 204 at its end', async () => {
    const res = await startStream(gatewayA);
    const streamId = res.headers.get('x-stream-id')!;
    const all = await readEvents(res);
    expect(all.at(-1)?.event).toBe('done');

    const replay = await fetch(`${gatewayB}/v1/chat/stream`, {
      method: 'POST',
      headers: authHeaders({ 'content-type': 'application/json', 'last-event-id': '1', 'x-stream-id': streamId }),
      body: '{}',
    });
    expect(replay.status).toBe(200);
    const replayed = await readEvents(replay);
    expect(replayed.map((e) => e.id)).toEqual(all.slice(1).map((e) => e.id));
    expect(tokenText(replayed)).toBe(FULL_ANSWER);
    expect(replayed.at(-1)?.event).toBe('done');

    const viaQuery = await fetch(`${gatewayB}/v1/chat/stream/${streamId}?last_event_id=${all.length - 3}`, { headers: authHeaders() });
    expect((await readEvents(viaQuery)).map((e) => e.event)).toEqual(['token', 'token', 'done']);

    const end = await fetch(`${gatewayB}/v1/chat/stream/${streamId}?last_event_id=${all.length}`, { headers: authHeaders() });
    expect(end.status).toBe(204);
  }, 30_000);

  it("relays the owner's refusals: another tenant's key (404, as for an unknown stream) and a past-the-end id", async () => {
    const otherKey = createKey('other');
    const res = await startStream(gatewayA);
    const streamId = res.headers.get('x-stream-id')!;
    const all = await readEvents(res);

    const foreign = await fetch(`${gatewayB}/v1/chat/stream/${streamId}`, { headers: { authorization: `Bearer ${otherKey}`, 'last-event-id': '1' } });
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as { message: string }).message).toBe(`stream ${streamId} not found on this gateway`);
    const past = await fetch(`${gatewayB}/v1/chat/stream/${streamId}`, { headers: authHeaders({ 'last-event-id': String(all.length + 5) }) });
    expect(past.status).toBe(400);
    expect(JSON.stringify(await past.json())).toContain("past the stream's last event");
    // The owner's own tenant still gets it through B.
    const own = await fetch(`${gatewayB}/v1/chat/stream/${streamId}`, { headers: authHeaders({ 'last-event-id': '1' }) });
    expect(own.status).toBe(200);
    expect(tokenText(await readEvents(own))).toBe(FULL_ANSWER);
  }, 30_000);

  it('answers 404 naming the replica for an id whose replica no gateway knows; old-format ids stay local', async () => {
    const unknown = await fetch(`${gatewayB}/v1/chat/stream/gw-nowhere-0a1b2c.3f0c1a52-7d4b-4c3e-9a51-2f6f0e8b9c10`, { headers: authHeaders({ 'last-event-id': '1' }) });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { message: string }).message).toContain('gateway replica gw-nowhere-0a1b2c');
    const old = await fetch(`${gatewayB}/v1/chat/stream/3f0c1a52-7d4b-4c3e-9a51-2f6f0e8b9c10`, { headers: authHeaders({ 'last-event-id': '1' }) });
    expect(old.status).toBe(404);
    expect(((await old.json()) as { message: string }).message).toBe('stream 3f0c1a52-7d4b-4c3e-9a51-2f6f0e8b9c10 not found on this gateway');
  });

  it('answers 410 for a replica that died without a word (registered, but nothing listens at its address)', async () => {
    // A port just found free: nothing listens there, so the connection is refused.
    await registerReplica('gw-crashed-0a1b2c', `http://127.0.0.1:${await freePort()}`);
    const gone = await fetch(`${gatewayB}/v1/chat/stream/gw-crashed-0a1b2c.3f0c1a52-7d4b-4c3e-9a51-2f6f0e8b9c10`, { headers: authHeaders({ 'last-event-id': '1' }) });
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { message: string }).message).toContain('gateway replica gw-crashed-0a1b2c');
    const logged = mesh.logOf('gateway-2').split('\n').find((line) => line.includes('resume not forwarded'));
    expect(logged).toContain('"code":"ECONNREFUSED"');
    expect(logged).toContain('gw-crashed-0a1b2c');
  });

  it('forwards at most once: a replica registered at the wrong address answers 404 instead of forwarding on', async () => {
    // The directory claims gw-misplaced lives at B itself: B forwards to B, which must serve it locally.
    await registerReplica('gw-misplaced-0a1b2c', gatewayB);
    const id = 'gw-misplaced-0a1b2c.3f0c1a52-7d4b-4c3e-9a51-2f6f0e8b9c10';
    const res = await fetch(`${gatewayB}/v1/chat/stream/${id}`, { headers: authHeaders({ 'last-event-id': '1' }) });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toBe(`stream ${id} not found on this gateway`);
  });

  // Last: it stops gateway A.
  it('answers 410 naming the stopped replica once A is gone', async () => {
    const res = await startStream(gatewayA);
    const streamId = res.headers.get('x-stream-id')!;
    await readEvents(res);
    const owner = streamId.split('.')[0];

    await mesh.stopService('gateway');
    expect((await replicaRows()).find((r) => r.id === owner)?.stopped).toBe(true);

    const gone = await fetch(`${gatewayB}/v1/chat/stream/${streamId}`, { headers: authHeaders({ 'last-event-id': '2' }) });
    expect(gone.status).toBe(410);
    const { message } = (await gone.json()) as { message: string };
    expect(message).toContain(`gateway replica ${owner}`);
    expect(message).toContain('stopped');
  }, 30_000);
});
