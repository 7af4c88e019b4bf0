import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { RabbitNode, rabbitmqInstalled, NODE_START_TIMEOUT_MS, waitUntil } from '@ragmesh/testing';
import { Messaging } from './index';

/*
 * Chaos test: a private RabbitMQ node (never the shared one on 5672) is stopped and started
 * again while messages are being published and consumed; every confirmed publish must be
 * consumed at least once (lost = 0). Duplicates are allowed: consumers are idempotent by id.
 */

const MESSAGES = 300;
const PUBLISH_SPACING_MS = 20;
const RESTART_AFTER = 75;
const DEADLINE_MS = 800;

jest.setTimeout(240_000);

const available = rabbitmqInstalled();
if (!available) console.warn('broker-restart.integration-spec: RabbitMQ server scripts not installed; skipping the broker restart test');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));


(available ? describe : describe.skip)('Messaging across a broker restart', () => {
  let node: RabbitNode;

  beforeAll(async () => {
    node = await RabbitNode.start({ name: 'restart-test' });
  }, NODE_START_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    await node?.dispose();
  });

  it('loses no confirmed message when the broker restarts mid-stream', async () => {
    const suffix = randomUUID().slice(0, 8);
    const messaging = new Messaging({
      url: node.url,
      service: 'restart-test',
      exchange: `test.restart.${suffix}`,
      reconnectDelaySeconds: 1,
      logger: pino({ level: 'silent' }),
    });
    await messaging.connect();
    const deliveries = new Map<string, number>();
    await messaging.consume({
      queue: `test.restart.${suffix}.q`,
      types: ['document.deleted'],
      prefetch: 20,
      retry: { delaysMs: [100] },
      handle: async (envelope) => {
        deliveries.set(envelope.id, (deliveries.get(envelope.id) ?? 0) + 1);
      },
    });
    const health = messaging.healthCheck();
    await health();

    const confirmed: string[] = [];
    const publishes: Promise<void>[] = [];
    let restart: Promise<void> | undefined;
    let sawUnhealthy = false;
    let deadlineOutcome = '';
    for (let i = 0; i < MESSAGES; i++) {
      publishes.push(messaging.publish('document.deleted', { documentId: `doc-${i}` }).then((envelope) => void confirmed.push(envelope.id)));
      if (i === RESTART_AFTER) {
        restart = (async () => {
          await node.stop();
          sawUnhealthy = await health().then(
            () => false,
            () => true,
          );
          // A bounded publish gives up while the broker is down instead of waiting for it.
          const t0 = Date.now();
          deadlineOutcome = await messaging.publish('document.deleted', { documentId: 'bounded' }, { deadlineMs: DEADLINE_MS }).then(
            () => 'confirmed',
            (error: unknown) => `${(error as Error).name} after ${Date.now() - t0} ms`,
          );
          await node.start();
        })();
      }
      await sleep(PUBLISH_SPACING_MS);
    }
    await restart;

    const outcomes = await Promise.allSettled(publishes);
    const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => String(o.reason));
    expect(failures).toEqual([]);
    expect(confirmed).toHaveLength(MESSAGES);

    await waitUntil('every confirmed message to be consumed', () => confirmed.every((id) => deliveries.has(id)), 60_000, 100);
    const lost = confirmed.filter((id) => !deliveries.has(id)).length;
    const duplicates = [...deliveries.values()].reduce((sum, n) => sum + n - 1, 0);
    console.info(`broker restart: published ${MESSAGES}, confirmed ${confirmed.length}, lost ${lost}, duplicate deliveries ${duplicates}`);
    expect(lost).toBe(0);
    expect(sawUnhealthy).toBe(true);
    expect(deadlineOutcome).toMatch(/^PublishTimeoutError after \d+ ms$/);
    expect(Number(/after (\d+)/.exec(deadlineOutcome)?.[1])).toBeLessThan(DEADLINE_MS + 1_000);
    await waitUntil('health to recover', () => health().then(() => true, () => false), 30_000, 100);

    await messaging.close();
  });
});
