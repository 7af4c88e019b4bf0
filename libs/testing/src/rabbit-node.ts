import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports';

/*
 * A private RabbitMQ node for fault tests: its own node name, AMQP and distribution ports
 * (free ones, found at start), data, logs, config and Erlang cookie, all in a temp dir. It is
 * never the shared broker on 5672: every rabbitmqctl command is addressed to this node by
 * name, with this node's cookie, and a kill targets the pid the node wrote itself.
 */

/** The packaged scripts, called directly: the /usr/sbin wrappers su to the rabbitmq user (and its shared cookie). */
const RABBIT_BIN = process.env.RAGMESH_RABBITMQ_BIN ?? '/usr/lib/rabbitmq/bin';
export const NODE_START_TIMEOUT_MS = 60_000;
const CTL_TIMEOUT_MS = 30_000;
const POLL_MS = 250;

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** True when the RabbitMQ server scripts this utility calls are installed. */
export function rabbitmqInstalled(): boolean {
  try {
    accessSync(join(RABBIT_BIN, 'rabbitmq-server'), constants.X_OK);
    accessSync(join(RABBIT_BIN, 'rabbitmqctl'), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface RabbitNodeOptions {
  /** Prefix of the node name (a random suffix is added); shows in `epmd -names`. */
  name?: string;
  /** Extra lines for rabbitmq.conf (sysctl format). */
  config?: string[];
}

// Nodes still running when the test process exits are killed, so an aborted run leaves none behind.
const running = new Set<RabbitNode>();
process.once('exit', () => {
  for (const node of running) node.killSync();
});

export class RabbitNode {
  readonly dir: string;
  readonly nodeName: string;
  private readonly env: NodeJS.ProcessEnv;
  private server?: ChildProcess;

  private constructor(
    readonly port: number,
    distPort: number,
    opts: RabbitNodeOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'ragmesh-rmq-'));
    this.nodeName = `${opts.name ?? 'ragmesh-test'}-${randomBytes(4).toString('hex')}@localhost`;
    for (const sub of ['mnesia', 'log', 'home']) mkdirSync(join(this.dir, sub));
    // Our own config and env file: the system ones name the shared node and its port 5672.
    const config = [`listeners.tcp.1 = 127.0.0.1:${port}`, 'loopback_users = none', ...(opts.config ?? [])];
    writeFileSync(join(this.dir, 'rabbitmq.conf'), `${config.join('\n')}\n`);
    writeFileSync(join(this.dir, 'rabbitmq-env.conf'), '');
    writeFileSync(join(this.dir, 'enabled_plugins'), '[].\n');
    const cookie = join(this.dir, 'home', '.erlang.cookie');
    writeFileSync(cookie, randomBytes(20).toString('hex').toUpperCase());
    chmodSync(cookie, 0o400);
    this.env = {
      ...process.env,
      HOME: join(this.dir, 'home'),
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: join(this.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(this.dir, 'log'),
      RABBITMQ_CONFIG_FILE: join(this.dir, 'rabbitmq.conf'),
      RABBITMQ_CONF_ENV_FILE: join(this.dir, 'rabbitmq-env.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
      RABBITMQ_PID_FILE: join(this.dir, 'rabbitmq.pid'),
      ERL_EPMD_ADDRESS: '127.0.0.1',
    };
  }

  /** Creates a node on free ports and starts it; resolves once it accepts AMQP connections. */
  static async start(opts: RabbitNodeOptions = {}): Promise<RabbitNode> {
    if (!rabbitmqInstalled()) throw new Error(`RabbitMQ server scripts not found in ${RABBIT_BIN} (set RAGMESH_RABBITMQ_BIN)`);
    const node = new RabbitNode(await freePort(), await freePort(), opts);
    try {
      await node.start();
    } catch (error) {
      await node.dispose();
      throw error;
    }
    return node;
  }

  /** amqp URL of the default vhost, guest/guest. */
  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  /** Starts the node (again, after stop() or kill(): durable queues and persistent messages are kept). */
  async start(): Promise<void> {
    const out = openSync(join(this.dir, 'server.out'), 'a');
    const server = spawn(join(RABBIT_BIN, 'rabbitmq-server'), [], { cwd: this.dir, env: this.env, stdio: ['ignore', out, out] });
    closeSync(out);
    this.server = server;
    running.add(this);
    const deadline = Date.now() + NODE_START_TIMEOUT_MS;
    // await_startup fails at once until the node has registered with epmd, hence the loop.
    for (;;) {
      if (server.exitCode !== null) throw new Error(`rabbitmq node exited with ${server.exitCode} at start: ${this.logTail()}`);
      try {
        await this.ctl('await_startup');
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`rabbitmq node ${this.nodeName} did not start in ${NODE_START_TIMEOUT_MS} ms: ${String(error)}\n${this.logTail()}`);
        await sleep(POLL_MS * 2);
      }
    }
  }

  /** Clean shutdown (rabbitmqctl stop): clients see connection.close, then a refused connection. */
  async stop(): Promise<void> {
    await this.ctl('stop');
    await this.waitExited();
  }

  /** kill -9 of the Erlang VM: no goodbye to clients, unflushed state is the disk's problem. */
  async kill(): Promise<void> {
    this.killSync();
    await this.waitExited();
  }

  /** Stops (or kills) the node and starts it again on the same port with the same data. */
  async restart(how: 'stop' | 'kill' = 'stop'): Promise<void> {
    if (how === 'kill') await this.kill();
    else await this.stop();
    await this.start();
  }

  /** Runs a rabbitmqctl command against this node and returns its stdout. */
  async ctl(...args: string[]): Promise<string> {
    const { stdout } = await run(join(RABBIT_BIN, 'rabbitmqctl'), ['-n', this.nodeName, ...args], { env: this.env, timeout: CTL_TIMEOUT_MS });
    return stdout;
  }

  /** Messages ready + unacknowledged in `queue` (via rabbitmqctl list_queues), or undefined when it does not exist. */
  async queueDepth(queue: string, vhost = '/'): Promise<number | undefined> {
    const out = await this.ctl('list_queues', '-p', vhost, '--quiet', '--no-table-headers', 'name', 'messages');
    for (const line of out.split('\n')) {
      const [name, messages] = line.trim().split(/\s+/);
      if (name === queue) return Number(messages);
    }
    return undefined;
  }

  /** Kills the node if running and removes its directory. */
  async dispose(): Promise<void> {
    if (this.isRunning()) await this.kill().catch(() => undefined);
    running.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous kill -9 of the VM (and its launcher script); safe to call when not running. */
  killSync(): void {
    const pid = this.vmPid();
    for (const target of [pid, this.server?.pid]) {
      if (target === undefined) continue;
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** The Erlang VM's pid while running (from the pid file the node writes). */
  get pid(): number | undefined {
    return this.vmPid();
  }

  isRunning(): boolean {
    const pid = this.vmPid();
    return pid !== undefined && processAlive(pid);
  }

  private vmPid(): number | undefined {
    const file = join(this.dir, 'rabbitmq.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  private async waitExited(): Promise<void> {
    const pid = this.vmPid();
    const deadline = Date.now() + CTL_TIMEOUT_MS;
    while (pid !== undefined && processAlive(pid)) {
      if (Date.now() > deadline) throw new Error(`rabbitmq node ${this.nodeName} (pid ${pid}) still running after ${CTL_TIMEOUT_MS} ms`);
      await sleep(POLL_MS);
    }
    // The pid file would otherwise name a dead (later: someone else's) process.
    rmSync(join(this.dir, 'rabbitmq.pid'), { force: true });
    running.delete(this);
  }

  private logTail(): string {
    try {
      return readFileSync(join(this.dir, 'server.out'), 'utf8').slice(-3000);
    } catch {
      return '(no server output)';
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
