import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { authHeaders, E2E_PORTS, pollUntil, type RunningMesh, startMesh } from './harness';

/**
 * Feedback end to end, six real processes: POST /v1/feedback → outbox → RabbitMQ → feedback-worker →
 * generation-proxy (`local-feedback`) → signed callback to a local receiver; status back through
 * `feedback.status.changed`; a refused target is dead and visible in the admin dead-letter list.
 */
jest.setTimeout(120_000);

const SECRET = `whsec_${Buffer.alloc(32, 5).toString('base64')}`;

interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

let mesh: RunningMesh;
let receiver: Server;
let receiverUrl: string;
const deliveries: Delivery[] = [];

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${mesh.gatewayUrl}${path}`, {
    method,
    headers: authHeaders({ 'content-type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

const feedbackRequest = (callbackUrl: string) => ({
  memberId: 'member-e2e',
  startDate: [2024, 5, 1],
  endDate: '2024-05-31T23:59:59Z',
  activity: {
    challenges: [
      { title: '아침 달리기', category: '운동', achieved: 9, total: 10, startDate: '2024-05-01', endDate: '2024-05-10' },
      { title: '물 2리터', category: '식단', achieved: 3, total: 10, startDate: '2024-05-11', endDate: '2024-05-20' },
    ],
  },
  callbackUrl,
  callbackAuthHeader: 'Bearer product-token',
});

async function accepted(callbackUrl: string): Promise<string> {
  const res = await call('POST', '/v1/feedback', feedbackRequest(callbackUrl));
  expect(res.status).toBe(202);
  return res.body.data.jobId as string;
}

const statusOf = (jobId: string, status: string) =>
  pollUntil(async () => {
    const res = await call('GET', `/v1/feedback/${jobId}`);
    return res.body.data?.status === status ? res.body.data : undefined;
  }, 30_000, `job ${jobId} ${status}`);

beforeAll(async () => {
  // Answers 503 to the first delivery of a /flaky/ path, 200 to everything else.
  const seen = new Set<string>();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      deliveries.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const fail = path.startsWith('/flaky/') && !seen.has(path);
      seen.add(path);
      res.writeHead(fail ? 503 : 200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  mesh = await startMesh({ OUTBOUND_ALLOWLIST: '127.0.0.0/8', FEEDBACK_SIGNING_SECRET: SECRET });
});

afterAll(async () => {
  await mesh?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

it('delivers Korean feedback written by local-feedback from the activity, signed, and reports succeeded', async () => {
  const jobId = await accepted(`${receiverUrl}/ok//${'hook'}`);
  const delivery = await pollUntil(async () => deliveries.find((d) => d.path === '/ok/hook' && d.body.includes(jobId)), 30_000, 'the callback');

  const body = new Webhook(SECRET).verify(delivery.body, delivery.headers as Record<string, string>) as Json;
  expect(body).toEqual({ memberId: 'member-e2e', content: expect.any(String), jobId });
  expect(delivery.headers['webhook-id']).toBe(jobId);
  expect(delivery.headers.authorization).toBe('Bearer product-token');
  expect(body.content).toContain('2024년 5월 1일부터 2024년 5월 31일까지 챌린지 2개에 참여해 목표 20회 중 12회를 달성했습니다(달성률 60%).');
  expect(body.content).toContain('가장 잘한 챌린지는 「아침 달리기」(운동)로 10회 중 9회(90%)를 해냈습니다.');

  const job = await statusOf(jobId, 'succeeded');
  expect(job).toMatchObject({ attempts: 1, lastError: null });
});

it('retries a callback answered 503 after a delay, with the same webhook-id, then succeeds', async () => {
  const jobId = await accepted(`${receiverUrl}/flaky/${'x'}`);
  const job = await statusOf(jobId, 'succeeded');
  expect(job.attempts).toBe(2);
  const tries = deliveries.filter((d) => d.body.includes(jobId));
  expect(tries).toHaveLength(2);
  expect(tries.map((d) => d.headers['webhook-id'])).toEqual([jobId, jobId]);
  // Each attempt is signed for its own moment.
  expect(tries[0].headers['webhook-signature']).not.toBe(tries[1].headers['webhook-signature']);
});

it('refuses a link-local callback target: dead, with the reason, listed in the admin dead letters', async () => {
  const jobId = await accepted(`http://169.254.169.254/latest/meta-data/${'x'}`);
  const job = await statusOf(jobId, 'dead');
  expect(job.lastError).toContain('169.254.169.254 is in a linkLocal range');

  const list = await call('GET', '/v1/admin/dead-letters/feedback-worker.requests');
  expect(list.status).toBe(200);
  const letter = (list.body.data.deadLetters as Json[]).find((l) => l.body?.payload?.jobId === jobId);
  expect(letter).toMatchObject({ type: 'feedback.requested', reason: expect.stringContaining('linkLocal'), body: { payload: { callbackAuthHeader: '[redacted]' } } });

  const metrics = await (await fetch(`http://127.0.0.1:${E2E_PORTS.feedbackOps}/metrics`)).text();
  expect(metrics).toMatch(/^ragmesh_feedback_jobs_total\{[^}]*status="dead"[^}]*\} [1-9]/m);
  expect(metrics).toMatch(/^ragmesh_feedback_job_attempt_duration_seconds_count\{[^}]*outcome="succeeded"[^}]*\} [1-9]/m);
});
