import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, chmodSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { Messaging } from './index';

/*
 * Chaos test: a private RabbitMQ node (never the shared one on 5672) is stopped and started
 * again while messages are being published and consumed; every confirmed publish must be
 * consumed at least once (lost = 0). Duplicates are allowed: consumers are idempotent by id.
 */

const NODE = 'rmqtest@localhost';
const NODE_PORT = 5681;
const DIST_PORT = 25681;
const URL = `amqp://guest:guest@127.0.0.1:${NODE_PORT}`;
const MESSAGES = 300;
const PUBLISH_SPACING_MS = 20;
const RESTART_AFTER = 75;
const NODE_START_TIMEOUT_MS = 90_000;

jest.setTimeout(240_000);

const run = promisify(execFile);

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

// Several test runs may share this machine; the node name and ports are fixed, so one run at a time.
const LOCK_FILE = join(tmpdir(), 'ragmesh-rmqtest.lock');

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function takeLock(): boolean {
  try {
    writeFileSync(LOCK_FILE, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    const holder = Number(readFileSync(LOCK_FILE, 'utf8'));
    if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) return false;
    writeFileSync(LOCK_FILE, String(process.pid)); // stale lock from an aborted run
    return true;
  }
}

const installed = onPath('rabbitmq-server') && onPath('rabbitmqctl');
const available = installed && takeLock();
if (!installed) {
  console.warn('broker-restart.integration-spec: rabbitmq-server/rabbitmqctl not on PATH; skipping the broker restart test');
} else if (!available) {
  console.warn(`broker-restart.integration-spec: another run holds ${LOCK_FILE}; skipping the broker restart test`);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A throwaway RabbitMQ node with its own ports, data and logs in a temp dir. */
class TestNode {
  private readonly dir = mkdtempSync(join(tmpdir(), 'rmqtest-'));
  private readonly env: NodeJS.ProcessEnv;

  constructor() {
    mkdirSync(join(this.dir, 'mnesia'));
    mkdirSync(join(this.dir, 'log'));
    // Our own config and env file: the system ones name the shared node and its port 5672.
    writeFileSync(join(this.dir, 'rabbitmq.conf'), `listeners.tcp.1 = 127.0.0.1:${NODE_PORT}\n`);
    writeFileSync(join(this.dir, 'rabbitmq-env.conf'), '');
    writeFileSync(join(this.dir, 'enabled_plugins'), '[].\n');
    // The packaged wrapper drops to the rabbitmq user, which must be able to write here.
    for (const path of ['', 'mnesia', 'log', 'rabbitmq.conf', 'rabbitmq-env.conf', 'enabled_plugins']) chmodSync(join(this.dir, path), 0o777);
    this.env = {
      ...process.env,
      RABBITMQ_NODENAME: NODE,
      RABBITMQ_NODE_PORT: String(NODE_PORT),
      RABBITMQ_DIST_PORT: String(DIST_PORT),
      RABBITMQ_MNESIA_BASE: join(this.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(this.dir, 'log'),
      RABBITMQ_CONFIG_FILE: join(this.dir, 'rabbitmq.conf'),
      RABBITMQ_CONF_ENV_FILE: join(this.dir, 'rabbitmq-env.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
      RABBITMQ_PID_FILE: join(this.dir, 'rabbitmq.pid'),
      ERL_EPMD_ADDRESS: '127.0.0.1',
    };
  }

  async start(): Promise<void> {
    const out = openSync(join(this.dir, 'server.out'), 'a');
    const server = spawn('rabbitmq-server', [], { env: this.env, stdio: ['ignore', out, out], detached: false });
    closeSync(out);
    server.unref();
    // await_startup fails at once until the node has registered with epmd, hence the loop.
    const deadline = Date.now() + NODE_START_TIMEOUT_MS;
    for (;;) {
      try {
        await this.ctl('await_startup');
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`test node did not start (logs in ${this.dir}): ${String(error)}`);
        await sleep(500);
      }
    }
  }

  async stop(): Promise<void> {
    await this.ctl('stop');
  }

  async stopQuietly(): Promise<void> {
    await this.stop().catch(() => undefined);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async ctl(command: string): Promise<void> {
    // Always addressed by name: the shared node must never receive these commands.
    await run('rabbitmqctl', ['-n', NODE, command], { env: this.env, timeout: 60_000 });
  }
}

(available ? describe : describe.skip)('Messaging across a broker restart', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = new TestNode();
    await node.stopQuietly(); // a node left behind by an aborted earlier run (we hold the lock)
    await node.start();
  }, NODE_START_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    await node.stopQuietly();
    node.remove();
    rmSync(LOCK_FILE, { force: true });
  });

  it('loses no confirmed message when the broker restarts mid-stream', async () => {
    const suffix = randomUUID().slice(0, 8);
    const messaging = new Messaging({
      url: URL,
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
    for (let i = 0; i < MESSAGES; i++) {
      publishes.push(messaging.publish('document.deleted', { documentId: `doc-${i}` }).then((envelope) => void confirmed.push(envelope.id)));
      if (i === RESTART_AFTER) {
        restart = (async () => {
          await node.stop();
          sawUnhealthy = await health().then(
            () => false,
            () => true,
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

    await waitFor(() => confirmed.every((id) => deliveries.has(id)), 'every confirmed message to be consumed', 60_000);
    const lost = confirmed.filter((id) => !deliveries.has(id)).length;
    const duplicates = [...deliveries.values()].reduce((sum, n) => sum + n - 1, 0);
    console.info(`broker restart: published ${MESSAGES}, confirmed ${confirmed.length}, lost ${lost}, duplicate deliveries ${duplicates}`);
    expect(lost).toBe(0);
    expect(sawUnhealthy).toBe(true);
    await waitFor(() => health().then(() => true, () => false), 'health to recover', 30_000);

    await messaging.close();
  });
});
