import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import pino from 'pino';
import { EVENTS_EXCHANGE } from '@ragmesh/contracts';
import { type DeadLetter, Messaging } from '@ragmesh/messaging';
import { CallbackReceiver, NODE_START_TIMEOUT_MS, RabbitNode, rabbitmqInstalled, type ServiceProcess } from '@ragmesh/testing';
import { pollUntil, type RunningMesh, startMesh } from './harness';
import { ackedJobs, FEEDBACK_QUEUE, feedbackRequest, getJob, jobsMeshEnv, postFeedback, postPaced, startFeedbackWorker } from './jobs-support';

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
let admin: Messaging;
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

function expectSameWebhookIds(duplicates: { webhookIds: (string | undefined)[] }[]): void {
  for (const d of duplicates) {
    expect(d.webhookIds[0]).toEqual(expect.any(String));
    expect(new Set(d.webhookIds).size).toBe(1);
  }
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

async function deadLettersOf(jobId: string): Promise<DeadLetter[]> {
  const letters = await admin.listDeadLetters(FEEDBACK_QUEUE, 1000);
  return letters.filter((l) => l.body.includes(jobId));
}

(available ? describe : describe.skip)('feedback jobs under faults (private RabbitMQ node)', () => {
  beforeAll(async () => {
    node = await RabbitNode.start({ name: 'jobs-faults' });
    receiver = await CallbackReceiver.start();
    mesh = await startMesh(jobsMeshEnv(node.url));
    admin = new Messaging({ url: node.url, service: 'jobs-faults-test', reconnectDelaySeconds: 1, logger: pino({ level: 'silent' }) });
    await admin.connect();
  }, NODE_START_TIMEOUT_MS + 120_000);

  afterAll(async () => {
    await Promise.all(extraWorkers.map((w) => w.stop()));
    await admin?.close();
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
    expectSameWebhookIds(duplicates);
    // The replacement took part: the queue was not simply drained by the mesh's own worker.
    expect(await ackedJobs(replacement.opsPort)).toBeGreaterThan(0);
  });

  it('loses no job when the broker is restarted while jobs are published and consumed', async () => {
    const posting = postPaced(mesh.gatewayUrl, 300, { perSecond: 50, concurrency: 8, body: (i) => feedbackRequest(`restart-${i}`, receiver.url('/restart')) });
    await pollUntil(async () => (posting.accepted.length >= 100 && receiver.deliveredJobIds().size > 0 ? true : undefined), 30_000, '100 jobs accepted');
    // kill -9 rather than a clean stop: no goodbye to clients, quorum queues recover from their log.
    await node.restart('kill');
    const jobIds = await posting.done;
    await receiver.waitForJobs(jobIds, DELIVERY_TIMEOUT_MS);
    const { lost, duplicates } = deliveryReport('broker kill -9 + restart', jobIds);
    expect(lost).toEqual([]);
    expectSameWebhookIds(duplicates);
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
      const [letter] = await pollUntil(async () => ((await deadLettersOf(dead)).length > 0 ? deadLettersOf(dead) : undefined), 10_000, 'the dead letter');
      expect(letter.reason).toMatch(/after 4 attempts/);
      console.info(`dead letter of ${dead}: ${letter.reason}`);

      // Replayed once the target is back: delivered, succeeded, gone from the dead letters.
      await gone.up();
      expect(await admin.replayDeadLetters(FEEDBACK_QUEUE)).toBeGreaterThanOrEqual(1);
      await gone.waitForJobs([dead], 30_000);
      await waitForStatus(dead, 'succeeded', 30_000);
      expect(await deadLettersOf(dead)).toEqual([]);
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
      const posting = postPaced(mesh.gatewayUrl, 40, { perSecond: 40, concurrency: 4, body: (i) => feedbackRequest(`poison-${i}`, receiver.url('/poison')) });
      await publish(`{"not json ${marker}`);
      await publish(validEnvelope({ jobId: marker, memberId: 'm', prompt: 'p' })); // no callbackUrl
      const jobIds = await posting.done;

      await receiver.waitForJobs(jobIds, 60_000);
      const { lost } = deliveryReport('poison messages in the stream', jobIds);
      expect(lost).toEqual([]);
      const poison = await pollUntil(async () => {
        const letters = (await admin.listDeadLetters(FEEDBACK_QUEUE, 1000)).filter((l) => l.body.includes(marker));
        return letters.length === 2 ? letters : undefined;
      }, 10_000, 'both poison messages in the dead-letter queue');
      for (const letter of poison) {
        expect(letter.reason).toEqual(expect.any(String));
        // Straight to dead letters: first attempt, no retry recorded.
        expect(letter.attempt).toBe(1);
        expect(letter.headers['x-last-error']).toBeUndefined();
        console.info(`poison dead-lettered: ${letter.reason}`);
      }
      expect(poison.map((l) => l.reason).join('\n')).toMatch(/json/i);
      expect(poison.map((l) => l.reason).join('\n')).toMatch(/callbackUrl/);
    } finally {
      await channel.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
    }
  });
});
