import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { EVENTS_EXCHANGE } from '@ragmesh/contracts';
import { CallbackReceiver, NODE_START_TIMEOUT_MS, RabbitNode, rabbitmqInstalled, type ServiceProcess } from '@ragmesh/testing';
import { authHeaders, pollUntil, type RunningMesh, startMesh } from './harness';
import { ackedJobs, FEEDBACK_QUEUE, feedbackRequest, getJob, jobsMeshEnv, postFeedback, postPaced, startFeedbackWorker, TEST_RETRY_DELAYS_MS } from './jobs-support';

/*
 * Issue 6, "proven under faults": the real mesh (six processes) against a RabbitMQ node this
 * file starts itself (never the shared broker), a callback receiver counting deliveries by job
 * id, and faults injected while jobs flow: kill -9 of a worker, a broker restart, a callback
 * target that is down, poison messages.
 */
jest.setTimeout(240_000);

const available = rabbitmqInstalled();
if (!available) console.warn('jobs-faults.e2e-spec: RabbitMQ server scripts not installed; skipping the fault tests');

let node: RabbitNode;
let mesh: RunningMesh;
let receiver: CallbackReceiver;
const extraWorkers: ServiceProcess[] = [];

const DELIVERY_TIMEOUT_MS = 120_000;

/** Every job id delivered at least once; duplicates (same job delivered twice) must share their webhook-id. */
function deliveryReport(what: string, jobIds: readonly string[]): { lost: string[]; duplicates: { jobId: string; webhookIds: (string | undefined)[] }[] } {
  const delivered = receiver.deliveredJobIds();
  const lost = jobIds.filter((id) => !delivered.has(id));
  const ours = new Set(jobIds);
  const duplicates = receiver.duplicates().filter((d) => ours.has(d.jobId));
  const detail = duplicates.map((d) => `${d.jobId} ×${d.webhookIds.length} webhook-id ${[...new Set(d.webhookIds)].join('|')}`).join('; ');
  console.info(`${what}: ${jobIds.length} jobs, delivered ${jobIds.length - lost.length}, lost ${lost.length}, duplicates ${duplicates.length}${detail ? ` (${detail})` : ''}`);
  return { lost, duplicates };
}

/** A receiver can only drop a repeat it can recognise: every delivery is signed and carries a webhook-id, the same on a repeat. */
function expectDeduplicable(jobIds: readonly string[], duplicates: { webhookIds: (string | undefined)[] }[]): void {
  const unmarked = jobIds.filter((id) => receiver.deliveriesOf(id).some((d) => !d.webhookId || !d.headers['webhook-signature'] || !d.headers['webhook-timestamp']));
  expect(unmarked).toEqual([]);
  for (const d of duplicates) expect(new Set(d.webhookIds).size).toBe(1);
}

async function waitForStatus(jobId: string, status: string, timeoutMs: number): Promise<Awaited<ReturnType<typeof getJob>>> {
  return pollUntil(
    async () => {
      const job = await getJob(mesh.gatewayUrl, jobId);
      return job.status === status ? job : undefined;
    },
    timeoutMs,
    `job ${jobId} to be ${status}`,
  );
}

/** A dead letter as GET /v1/admin/dead-letters/:queue shows it. */
interface DeadLetterView {
  messageId: string | null;
  reason: string | null;
  attempt: number;
  body: unknown;
}

async function adminCall<T>(method: 'GET' | 'POST', path: string): Promise<T> {
  const res = await fetch(`${mesh.gatewayUrl}/v1/admin/dead-letters/${path}`, { method, headers: authHeaders() });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${method} /v1/admin/dead-letters/${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { data: T }).data;
}

/** The feedback queue's dead letters whose body mentions `needle` (a job id, a marker). */
async function deadLettersWith(needle: string): Promise<DeadLetterView[]> {
  const { deadLetters } = await adminCall<{ deadLetters: DeadLetterView[] }>('GET', `${FEEDBACK_QUEUE}?limit=500`);
  return deadLetters.filter((l) => JSON.stringify(l.body).includes(needle));
}

(available ? describe : describe.skip)('feedback jobs under faults (private RabbitMQ node)', () => {
  beforeAll(async () => {
    node = await RabbitNode.start({ name: 'jobs-faults' });
    receiver = await CallbackReceiver.start();
    mesh = await startMesh(jobsMeshEnv(node.url));
  }, NODE_START_TIMEOUT_MS + 120_000);

  afterAll(async () => {
    await Promise.all(extraWorkers.map((w) => w.stop()));
    await mesh?.stop();
    await receiver?.close();
    await node?.dispose();
  });

  it('delivers all of 1,000 jobs when a worker is killed -9 mid-run and another one started', async () => {
    const env = jobsMeshEnv(node.url);
    const doomed = await startFeedbackWorker(mesh, 'doomed', env);
    extraWorkers.push(doomed);
    const posting = postPaced(mesh.gatewayUrl, 1000, { perSecond: 125, concurrency: 16, body: (i) => feedbackRequest(`kill-${i}`, receiver.url('/kill')) });

    // Kill while it is busy: it has acked work and holds unacked deliveries (prefetch) at this moment.
    await pollUntil(async () => ((await ackedJobs(doomed.opsPort)) >= 50 ? true : undefined), 60_000, 'the doomed worker to ack 50 jobs');
    const ackedBeforeKill = await ackedJobs(doomed.opsPort);
    doomed.kill('SIGKILL');
    await doomed.waitExit();
    const replacement = await startFeedbackWorker(mesh, 'replacement', env);
    extraWorkers.push(replacement);

    const jobIds = await posting.done;
    await receiver.waitForJobs(jobIds, DELIVERY_TIMEOUT_MS);
    const { lost, duplicates } = deliveryReport(`kill -9 (doomed worker acked ${ackedBeforeKill} before the kill)`, jobIds);
    expect(lost).toEqual([]);
    expectDeduplicable(jobIds, duplicates);
    // The replacement took part: the queue was not simply drained by the mesh's own worker.
    expect(await ackedJobs(replacement.opsPort)).toBeGreaterThan(0);
  });

  it('loses no job when the broker is restarted while jobs are published and consumed', async () => {
    const posting = postPaced(mesh.gatewayUrl, 200, { perSecond: 40, concurrency: 8, body: (i) => feedbackRequest(`restart-${i}`, receiver.url('/restart')) });
    await pollUntil(async () => (posting.accepted.length >= 60 && receiver.deliveredJobIds().size > 0 ? true : undefined), 30_000, '60 jobs accepted');
    // kill -9 rather than a clean stop: no goodbye to clients, quorum queues recover from their log.
    await node.restart('kill');
    const jobIds = await posting.done;
    await receiver.waitForJobs(jobIds, DELIVERY_TIMEOUT_MS);
    const { lost, duplicates } = deliveryReport('broker kill -9 + restart', jobIds);
    expect(lost).toEqual([]);
    expectDeduplicable(jobIds, duplicates);
    // Status events flow again too: the gateway's view catches up.
    await waitForStatus(jobIds[jobIds.length - 1], 'succeeded', 30_000);
  });

  it('delivers after retries when the callback target comes back, and dead-letters a job whose target stays down', async () => {
    const flaky = await CallbackReceiver.start();
    const gone = await CallbackReceiver.start();
    try {
      await flaky.down();
      await gone.down();
      const retried = await Promise.all([1, 2, 3].map((i) => postFeedback(mesh.gatewayUrl, feedbackRequest(`flaky-${i}`, flaky.url('/flaky')))));
      const dead = await postFeedback(mesh.gatewayUrl, feedbackRequest('gone-1', gone.url('/gone')));

      // Failed at least twice (attempt 1 and its first retry), then the target comes back.
      for (const jobId of retried) {
        await pollUntil(async () => {
          const job = await getJob(mesh.gatewayUrl, jobId);
          return job.status === 'failed' && job.attempts >= 2 ? job : undefined;
        }, 30_000, `job ${jobId} to fail twice`);
      }
      await flaky.up();
      await flaky.waitForJobs(retried, 30_000);
      for (const jobId of retried) {
        const job = await waitForStatus(jobId, 'succeeded', 30_000);
        expect(job.attempts).toBeGreaterThanOrEqual(2);
      }

      // Down for good: dead after the last retry, visible in the job and in the dead-letter queue.
      const deadJob = await waitForStatus(dead, 'dead', 60_000);
      expect(deadJob.lastError).toMatch(/callback/i);
      const [letter] = await pollUntil(async () => {
        const letters = await deadLettersWith(dead);
        return letters.length > 0 ? letters : undefined;
      }, 10_000, 'the dead letter in GET /v1/admin/dead-letters');
      expect(letter.reason).toMatch(new RegExp(`after ${TEST_RETRY_DELAYS_MS.length + 1} attempts`));
      console.info(`dead letter of ${dead}: ${letter.reason}`);

      // Replayed through the admin endpoint once the target is back: delivered, succeeded, gone from the dead letters.
      await gone.up();
      await adminCall('POST', `${FEEDBACK_QUEUE}/${String(letter.messageId)}/replay`);
      await gone.waitForJobs([dead], 30_000);
      await waitForStatus(dead, 'succeeded', 30_000);
      expect(await deadLettersWith(dead)).toEqual([]);
    } finally {
      await flaky.close();
      await gone.close();
    }
  });

  it('dead-letters poison messages at once with their reason while the queue keeps flowing', async () => {
    const connection = await amqplib.connect(node.url);
    const channel = await connection.createConfirmChannel();
    const marker = randomUUID();
    const publish = (body: string): Promise<void> =>
      new Promise((resolve, reject) =>
        channel.publish(EVENTS_EXCHANGE, 'feedback.requested', Buffer.from(body), { persistent: true, messageId: `${marker}-${body.length}` }, (err) => (err ? reject(err) : resolve())),
      );
    const validEnvelope = (payload: unknown): string =>
      JSON.stringify({ id: randomUUID(), type: 'feedback.requested', version: 1, occurredAt: new Date().toISOString(), correlationId: marker, payload });
    try {
      const posting = postPaced(mesh.gatewayUrl, 20, { perSecond: 20, concurrency: 4, body: (i) => feedbackRequest(`poison-${i}`, receiver.url('/poison')) });
      await publish(`{"not json ${marker}`);
      await publish(validEnvelope({ jobId: marker, memberId: 'm', prompt: 'p' })); // no callbackUrl
      const jobIds = await posting.done;

      await receiver.waitForJobs(jobIds, 60_000);
      const { lost } = deliveryReport('poison messages in the stream', jobIds);
      expect(lost).toEqual([]);
      const poison = await pollUntil(async () => {
        const letters = await deadLettersWith(marker);
        return letters.length === 2 ? letters : undefined;
      }, 10_000, 'both poison messages in GET /v1/admin/dead-letters');
      for (const letter of poison) {
        // Straight to dead letters: still on its first attempt, never retried.
        expect(letter.attempt).toBe(1);
        console.info(`poison dead-lettered: ${String(letter.reason)}`);
      }
      expect(poison.map((l) => l.reason).join('\n')).toMatch(/json/i);
      expect(poison.map((l) => l.reason).join('\n')).toMatch(/callbackUrl/);
    } finally {
      await channel.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
    }
  });
});
