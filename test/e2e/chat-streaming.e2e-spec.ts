import type { ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { authHeaders, pollUntil, RunningMesh, startMesh } from './harness';
import { fakeAnswer, fakeStatsAt, readEvents, startFakeProcess, tokenText } from './stream-support';

/*
 * Chat streaming over real processes: the six services from the compiled tree, the generation
 * proxy pointed at the fake vLLM upstream running as its own process (tools/fake-openai), and a
 * callback receiver in this test. Proves: a client that goes away aborts the upstream request
 * (the fake's abort counter), Last-Event-ID resume without re-running generation, 404/410/204
 * on resume, callback streaming in flagged pieces, 422 for images, 429 + Retry-After.
 */

const REPLY_TOKENS = 40;
const TOKEN_DELAY_MS = 25;
const GRACE_MS = 1500;
const RETENTION_MS = 2500;
const FLUSH_MS = 300;
const FULL_ANSWER = fakeAnswer(REPLY_TOKENS);

let mesh: RunningMesh;
let fake: ChildProcess;
let fakeUrl: string;

const fakeStats = () => fakeStatsAt(fakeUrl);
const configureFake = async (config: Record<string, unknown>) => {
  const res = await fetch(`${fakeUrl}/fake/config`, { method: 'POST', body: JSON.stringify(config) });
  if (res.status !== 200) throw new Error(`fake config answered ${res.status}: ${await res.text()}`);
};
const idle = () => pollUntil(async () => ((await fakeStats()).active === 0 ? true : undefined), 10_000, 'the fake upstream to be idle');

const chatBody = (over: Record<string, unknown> = {}) => ({ messages: [{ role: 'user', content: 'Tell me a story' }], rag: false, ...over });

function post(path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${mesh.gatewayUrl}${path}`, {
    method: 'POST',
    headers: authHeaders({ 'content-type': 'application/json', ...headers }),
    body: JSON.stringify(body),
    signal,
  });
}


beforeAll(async () => {
  const started = await startFakeProcess({ tokenDelayMs: TOKEN_DELAY_MS, replyTokens: REPLY_TOKENS });
  fake = started.child;
  fakeUrl = started.url;
  mesh = await startMesh({
    GENERATION_UPSTREAMS: fakeUrl,
    // Two generations at once on the upstream and no wait queue: the third concurrent request is refused (429).
    GENERATION_UPSTREAM_MAX_CONCURRENCY: '2',
    GENERATION_MAX_QUEUE: '0',
    CHAT_QUERY_REWRITE: 'rules',
    CHAT_RESUME_GRACE_MS: String(GRACE_MS),
    CHAT_RESUME_RETENTION_MS: String(RETENTION_MS),
    CHAT_CALLBACK_FLUSH_MS: String(FLUSH_MS),
    OUTBOUND_ALLOWLIST: '127.0.0.0/8',
    LOG_LEVEL: 'info',
  });
}, 180_000);

afterAll(async () => {
  await mesh?.stop();
  fake?.kill('SIGTERM');
});

beforeEach(() => idle());

describe('client disconnect', () => {
  it('aborts the upstream request when an OpenAI-format stream is dropped mid-answer', async () => {
    const before = await fakeStats();
    const abort = new AbortController();
    const res = await post('/v1/chat/completions', chatBody({ stream: true }), {}, abort.signal);
    expect(res.status).toBe(200);
    const events = await readEvents(res, abort, (e) => e.length >= 5);
    expect(events.length).toBeGreaterThanOrEqual(5);
    const after = await pollUntil(async () => {
      const s = await fakeStats();
      return s.aborted > before.aborted ? s : undefined;
    }, 5_000, "the fake upstream's abort counter");
    expect(after.aborted).toBe(before.aborted + 1);
    expect(after.completed).toBe(before.completed);
  });

  it('aborts the upstream request of a native stream once nobody resumed it within the grace period', async () => {
    // An answer longer than the grace period, so it cannot simply finish while nobody listens.
    await configureFake({ replyTokens: 400 });
    const before = await fakeStats();
    const abort = new AbortController();
    const res = await post('/v1/chat/stream', chatBody(), {}, abort.signal);
    await readEvents(res, abort, (e) => e.filter((x) => x.event === 'token').length >= 3);
    const droppedAt = Date.now();
    const after = await pollUntil(async () => {
      const s = await fakeStats();
      return s.aborted > before.aborted ? s : undefined;
    }, GRACE_MS + 5_000, "the fake upstream's abort counter");
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(GRACE_MS - 200);
    expect(after.aborted).toBe(before.aborted + 1);
    expect(after.completed).toBe(before.completed);
    await configureFake({ replyTokens: REPLY_TOKENS });
  }, 20_000);
});

describe('Last-Event-ID resume', () => {
  it('resumes a dropped native stream after the last id seen, without generating again', async () => {
    const before = await fakeStats();
    const abort = new AbortController();
    const first = await post('/v1/chat/stream', chatBody(), {}, abort.signal);
    const streamId = first.headers.get('x-stream-id')!;
    const seen = await readEvents(first, abort, (e) => e.filter((x) => x.event === 'token').length >= 5);
    expect(JSON.parse(seen[0].data)).toMatchObject({ stream_id: streamId });
    const lastId = seen.at(-1)!.id!;

    const resumed = await fetch(`${mesh.gatewayUrl}/v1/chat/stream/${streamId}`, { headers: authHeaders({ 'last-event-id': lastId }) });
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('content-type')).toContain('text/event-stream');
    const rest = await readEvents(resumed);

    const ids = [...seen, ...rest].map((e) => Number(e.id));
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1));
    expect(rest.at(-1)?.event).toBe('done');
    expect(tokenText(seen) + tokenText(rest)).toBe(FULL_ANSWER);

    const after = await fakeStats();
    expect(after.requests).toBe(before.requests + 1);
    expect(after.aborted).toBe(before.aborted);
    expect(after.completed).toBe(before.completed + 1);

    // A finished stream replays from any id within the retention window; POST works too.
    const replay = await post('/v1/chat/stream', {}, { 'last-event-id': '1', 'x-stream-id': streamId });
    const replayed = await readEvents(replay);
    expect(replayed[0].id).toBe('2');
    expect(tokenText(replayed)).toBe(FULL_ANSWER);
    expect((await fakeStats()).requests).toBe(before.requests + 1);

    // Nothing after the last id: 204, so EventSource stops reconnecting.
    const end = await fetch(`${mesh.gatewayUrl}/v1/chat/stream/${streamId}?last_event_id=${ids.at(-1)}`, { headers: authHeaders() });
    expect(end.status).toBe(204);

    // Past the retention window: 410 Gone.
    await new Promise((r) => setTimeout(r, RETENTION_MS + 200));
    const gone = await fetch(`${mesh.gatewayUrl}/v1/chat/stream/${streamId}`, { headers: authHeaders({ 'last-event-id': '3' }) });
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { message: string }).message).toContain('expired');
  }, 30_000);

  it('answers 404 for an unknown stream and 400 for a malformed Last-Event-ID', async () => {
    const unknown = await fetch(`${mesh.gatewayUrl}/v1/chat/stream/3f0c1a52-7d4b-4c3e-9a51-2f6f0e8b9c10`, { headers: authHeaders({ 'last-event-id': '1' }) });
    expect(unknown.status).toBe(404);
    const bad = await fetch(`${mesh.gatewayUrl}/v1/chat/stream/3f0c1a52-7d4b-4c3e-9a51-2f6f0e8b9c10`, { headers: authHeaders({ 'last-event-id': 'abc' }) });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('Last-Event-ID');
  });
});

describe('callback streaming (response_url)', () => {
  let receiver: Server;
  let receiverUrl: string;
  const pieces: { body: Record<string, unknown>; headers: IncomingMessage['headers']; at: number }[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        pieces.push({ body: JSON.parse(raw) as Record<string, unknown>, headers: req.headers, at: Date.now() });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/answers`;
  });
  afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

  it('answers 202 at once and POSTs the answer in buffered pieces flagged continue, then end', async () => {
    const started = Date.now();
    const res = await post('/v1/chat/completions', chatBody({ response_url: receiverUrl }));
    const answeredMs = Date.now() - started;
    expect(res.status).toBe(202);
    const { data } = (await res.json()) as { data: { request_id: string; session_id: string } };
    expect(answeredMs).toBeLessThan(REPLY_TOKENS * TOKEN_DELAY_MS);

    const received = await pollUntil(async () => (pieces.some((p) => p.body.status === 'end') ? pieces : undefined), 15_000, 'the end piece');
    expect(received.length).toBeGreaterThanOrEqual(3);
    expect(received.map((p) => p.body.sequence)).toEqual(received.map((_, i) => i));
    expect(received.map((p) => p.body.status)).toEqual([...received.slice(1).map(() => 'continue'), 'end']);
    expect(received.every((p) => p.body.request_id === data.request_id && p.body.session_id === data.session_id)).toBe(true);
    expect(received.map((p) => p.body.content).join('')).toBe(FULL_ANSWER);
    expect(received.at(-1)!.body).toMatchObject({ finish_reason: 'stop', usage: { completion_tokens: REPLY_TOKENS } });
    expect(received[0].headers['idempotency-key']).toBe(`${data.request_id}:0`);
    // Buffered: pieces come roughly a flush interval apart, not one per token.
    const gaps = received.slice(1, -1).map((p, i) => p.at - received[i].at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(FLUSH_MS * 0.7);
  });

  it('refuses a response_url the outbound guard would not call, naming the field', async () => {
    const res = await post('/v1/chat/completions', chatBody({ response_url: 'http://169.254.169.254/latest/meta-data' }));
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('response_url');
  });
});

describe('errors before the answer', () => {
  it('answers 422 when an image is sent for a model no multimodal upstream serves', async () => {
    const res = await post(
      '/v1/chat/completions',
      chatBody({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in this picture?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            ],
          },
        ],
      }),
    );
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/multimodal/i);
  });

  it('answers 429 with Retry-After when the proxy is at capacity', async () => {
    const aborts = [new AbortController(), new AbortController()];
    const busy = await Promise.all(aborts.map((a) => post('/v1/chat/completions', chatBody({ stream: true }), {}, a.signal)));
    expect(busy.map((r) => r.status)).toEqual([200, 200]);
    const refused = await post('/v1/chat/completions', chatBody());
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    for (const a of aborts) a.abort();
  });
});
