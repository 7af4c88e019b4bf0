'use strict';
// Starts what bench:gateway measures as real processes on ports of its own: the fake vLLM
// upstream, retrieval, generation-proxy and gateway, from a compiled tree, with a database and
// a RabbitMQ vhost of their own. Reads CPU time and RSS of the processes from /proc.
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { Client } = require('pg');

const ROOT = path.resolve(__dirname, '..', '..');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const PAGE_SIZE = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;

/** Compiles the TypeScript tree into `dist` (incremental after the first run), so nothing stale is measured. */
function build(dist) {
  execFileSync('npx', ['--no-install', 'tsc', '-p', 'tsconfig.build.json', '--outDir', dist, '--tsBuildInfoFile', path.join(dist, '.tsbuildinfo')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function recreateDatabase(adminUrl, name) {
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropDatabase(adminUrl, name) {
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

function rabbitmqctl(args) {
  try {
    execFileSync('rabbitmqctl', args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A vhost of our own; without rabbitmqctl the default vhost is shared (and said so in the report). */
function prepareVhost(base, name) {
  rabbitmqctl(['delete_vhost', name]);
  if (rabbitmqctl(['add_vhost', name]) && rabbitmqctl(['set_permissions', '-p', name, 'guest', '.*', '.*', '.*'])) return `${base}/${name}`;
  return base;
}

async function waitReady(url, child, logFile, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-3000) : '';
  throw new Error(`${url} not ready (${child.exitCode !== null ? `exited ${child.exitCode}` : last})\n${log}`);
}

/** CPU seconds (user + system) and resident bytes of a process. */
function processUsage(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" that closes the command name: utime is field 14, stime 15, rss 24 (1-based).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLK_TCK, rssBytes: Number(fields[21]) * PAGE_SIZE };
}

class Mesh {
  constructor(opts) {
    this.opts = opts;
    this.children = [];
    this.logDir = path.join(ROOT, '.run', `${opts.name}-logs`);
  }

  spawn(name, script, env, readyUrl) {
    fs.mkdirSync(this.logDir, { recursive: true });
    const logFile = path.join(this.logDir, `${name}.log`);
    const log = fs.createWriteStream(logFile, { flags: 'w' });
    // BENCH_PROFILE=gateway,generation-proxy writes a V8 CPU profile of those processes into the log folder.
    const profile = (process.env.BENCH_PROFILE ?? '').split(',').includes(name) ? ['--cpu-prof', `--cpu-prof-dir=${this.logDir}`] : [];
    const child = spawn(process.execPath, [...profile, '-r', path.join(ROOT, 'scripts', 'register-paths.js'), path.join(this.opts.dist, script)], {
      cwd: ROOT,
      env: { ...process.env, RAGMESH_DIST: this.opts.dist, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    this.children.push(child);
    return waitReady(readyUrl, child, logFile, 90_000).then(() => child);
  }

  async start() {
    const { ports, name } = this.opts;
    this.databaseUrl = await recreateDatabase(this.opts.pgAdminUrl, name);
    this.amqpUrl = prepareVhost(this.opts.amqpBase, name);
    const common = {
      DATABASE_URL: this.databaseUrl,
      AMQP_URL: this.amqpUrl,
      // Per-request logs at info would be part of what is measured; production runs at info, a bench at warn.
      LOG_LEVEL: this.opts.logLevel,
      RETRIEVAL_GRPC_URL: `127.0.0.1:${ports.retrievalGrpc}`,
      GENERATION_GRPC_URL: `127.0.0.1:${ports.generationGrpc}`,
      REGISTRY_GRPC_URL: `127.0.0.1:${ports.registryGrpc}`,
    };
    this.fake = await this.spawn(
      'fake-openai',
      'tools/fake-openai/src/main.js',
      { PORT: String(ports.fake), HOST: '127.0.0.1', TOKEN_DELAY_MS: String(this.opts.tokenDelayMs), REPLY_TOKENS: String(this.opts.replyTokens), TTFT_MS: '0' },
      `http://127.0.0.1:${ports.fake}/health`,
    );
    this.retrieval = await this.spawn(
      'retrieval',
      'apps/retrieval/src/main.js',
      { ...common, RETRIEVAL_GRPC_PORT: String(ports.retrievalGrpc), OPS_PORT: String(ports.retrievalOps) },
      `http://127.0.0.1:${ports.retrievalOps}/health/ready`,
    );
    this.proxy = await this.spawn(
      'generation-proxy',
      'apps/generation-proxy/src/main.js',
      {
        ...common,
        GENERATION_GRPC_PORT: String(ports.generationGrpc),
        OPS_PORT: String(ports.generationOps),
        GENERATION_UPSTREAMS: `http://127.0.0.1:${ports.fake};max_concurrency=${this.opts.upstreamSlots}`,
        GENERATION_UPSTREAM_MODEL: 'fake-model',
        GENERATION_MAX_QUEUE: String(this.opts.upstreamSlots),
      },
      `http://127.0.0.1:${ports.generationOps}/health/ready`,
    );
    this.gateway = await this.spawn(
      'gateway',
      'apps/gateway/src/main.js',
      {
        ...common,
        GATEWAY_PORT: String(ports.gateway),
        RAGMESH_BOOTSTRAP_API_KEY: this.opts.apiKey,
        // The bench is one client with up to 1000 streams: the per-key limits would be the thing measured.
        RATE_LIMIT_STORE: 'memory',
        RATE_LIMIT_CONCURRENT_STREAMS: '100000',
        RATE_LIMIT_REQUESTS_PER_MIN: '10000000',
        RATE_LIMIT_TOKENS_PER_MIN: '1000000000',
        // Rule-based query rewrite: an LLM rewrite would be a second upstream call per request.
        CHAT_QUERY_REWRITE: 'rules',
        CHAT_RESUME_GRACE_MS: String(this.opts.resumeGraceMs),
      },
      `http://127.0.0.1:${ports.gateway}/health/ready`,
    );
    await this.bindTurnQueue();
  }

  /**
   * The gateway publishes every finished turn with `mandatory`; the summarizer's queue makes it
   * routable. A bounded stand-in queue (no summarizer running, which would call the proxy too).
   */
  async bindTurnQueue() {
    const amqp = require('amqplib');
    const connection = await amqp.connect(this.amqpUrl);
    try {
      const channel = await connection.createChannel();
      await channel.checkExchange('ragmesh.events');
      await channel.assertQueue('bench.turns', { durable: false, arguments: { 'x-max-length': 1000 } });
      await channel.bindQueue('bench.turns', 'ragmesh.events', 'conversation.turn.completed');
      await channel.close();
    } finally {
      await connection.close();
    }
  }

  usage() {
    return { gateway: processUsage(this.gateway.pid), proxy: processUsage(this.proxy.pid), fake: processUsage(this.fake.pid) };
  }

  async stop() {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    await dropDatabase(this.opts.pgAdminUrl, this.opts.name).catch(() => undefined);
    if (this.amqpUrl !== this.opts.amqpBase) rabbitmqctl(['delete_vhost', this.opts.name]);
  }
}

module.exports = { Mesh, build, processUsage, ROOT };
