'use strict';
// bench:jobs — end-to-end feedback jobs per second (POST → callback received, local engine)
// beside the raw durable ceiling of the same broker in the same run (plain amqplib, confirms,
// quorum queue, manual ack, prefetch 200), with p50/p99 job latency. Everything runs against a
// private RabbitMQ node started here (never the shared one) and the six services as processes.
// Prints one JSON document on stdout and writes bench/results/jobs.json; progress on stderr.
//
// Env: BENCH_JOBS (jobs per run, default 3000), BENCH_RAW_MESSAGES (default 30000),
// BENCH_WORKER_PREFETCH (default 32), BENCH_NAME (database, vhost and log folder
// .run/<name>-logs; default ragmesh_bench_jobs), BENCH_PORT_OFFSET (or RAGMESH_E2E_PORT_OFFSET,
// default 90), BENCH_OUT (results file, default bench/results/jobs.json), BENCH_PROFILE=1 (a V8
// CPU profile of every service over the saturated run, as <service>.cpuprofile in the log folder),
// RAGMESH_DIST (compiled tree, default dist; rebuilt first).
process.env.RAGMESH_E2E_NAME = process.env.BENCH_NAME ?? process.env.RAGMESH_E2E_NAME ?? 'ragmesh_bench_jobs';
process.env.RAGMESH_E2E_PORT_OFFSET = process.env.BENCH_PORT_OFFSET ?? process.env.RAGMESH_E2E_PORT_OFFSET ?? '90';
const { ROOT } = require('../lib/register-ts');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { RabbitNode, CallbackReceiver } = require('@ragmesh/testing');
const { startMesh, DIST } = require('../../test/e2e/harness');
const { jobsMeshEnv } = require('../../test/e2e/jobs-support');
const { measureRawCeiling } = require('./raw');
const { measureHttpFloor } = require('./floor');
const { runJobs } = require('./e2e');
const { cpuMsPerJob, cpuSnapshot, meshProcesses } = require('./cpu');
const { sqlTransactions, STATS_FLUSH_MS } = require('./sql');

const JOBS = Number(process.env.BENCH_JOBS ?? 3000);
const RAW_MESSAGES = Number(process.env.BENCH_RAW_MESSAGES ?? 30000);
/** The target: end to end at ≥ 25 % of the raw ceiling, with job p99 under a second at that rate. */
const TARGET_SHARE = 0.25;
const TARGET_P99_MS = 1000;
const PACED_SECONDS = 10;
/** The most jobs in flight the worker allows (FEEDBACK_PREFETCH ≤ 32; its pool is sized from it). */
const WORKER_PREFETCH = Number(process.env.BENCH_WORKER_PREFETCH ?? 32);
const PACED_SHARE_OF_SATURATED = 0.8;
/** A paced run "keeps up" when callbacks arrive at ≥ 95 % of the offered rate. */
const KEPT_UP = 0.95;
const OUT_FILE = process.env.BENCH_OUT ? path.resolve(process.env.BENCH_OUT) : path.join(ROOT, 'bench', 'results', 'jobs.json');
const PROFILE = process.env.BENCH_PROFILE === '1';
const LOG_DIR = path.join(ROOT, '.run', `${process.env.RAGMESH_E2E_NAME}-logs`);

const round2 = (x) => Math.round(x * 100) / 100;
const log = (msg) => process.stderr.write(`bench:jobs ${msg}\n`);

function build() {
  log(`building ${path.relative(ROOT, DIST)}/ …`);
  try {
    execFileSync('npx', ['--no-install', 'tsc', '-p', 'tsconfig.build.json', '--outDir', DIST, '--tsBuildInfoFile', path.join(DIST, '.tsbuildinfo')], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } catch {
    // tsc emits despite type errors elsewhere in the tree; the services either start or startMesh says why.
    log('tsc reported type errors (emitted anyway)');
  }
}

/** Starts (first call) or stops and writes (second call) the CPU profile of each service (cpu-profile-preload.js). */
function toggleProfiles(services) {
  for (const { pid } of services) process.kill(pid, 'SIGUSR2');
}

/** The preload names a profile after its pid: renamed after its service once written. */
async function nameProfiles(services) {
  const deadline = Date.now() + 30_000;
  for (const { name, pid } of services) {
    const file = path.join(LOG_DIR, `${pid}.cpuprofile`);
    while (!fs.existsSync(file) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    if (fs.existsSync(file)) fs.renameSync(file, path.join(LOG_DIR, `${name}.cpuprofile`));
  }
  log(`CPU profiles of the saturated run in ${path.relative(ROOT, LOG_DIR)}/<service>.cpuprofile`);
}

async function main() {
  build();
  const node = await RabbitNode.start({ name: 'bench-jobs' });
  let mesh;
  const receiver = await CallbackReceiver.start();
  try {
    log(`raw ceiling: ${RAW_MESSAGES} messages …`);
    const raw = await measureRawCeiling(node.url, { messages: RAW_MESSAGES });
    const httpFloor = await measureHttpFloor();
    log(`raw ceiling ${raw.messagesPerSecond}/s, bare HTTP round trip ${httpFloor.cpuMsPerRoundTrip} ms CPU; starting the mesh …`);
    const preload = path.join(__dirname, 'cpu-profile-preload.js');
    const profileEnv = PROFILE ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim(), BENCH_PROFILE_DIR: LOG_DIR } : {};
    mesh = await startMesh(jobsMeshEnv(node.url, { LOG_LEVEL: 'warn', FEEDBACK_PREFETCH: String(WORKER_PREFETCH), ...profileEnv }));

    await runJobs({ mesh, receiver, label: 'warmup', count: 300, perSecond: Infinity, timeoutMs: 120_000 });
    const services = meshProcesses(node.url);
    const processes = [...services, { name: 'rabbitmq', pid: node.pid }];
    log(`saturated: ${JOBS} jobs as fast as the gateway takes them …`);
    const loadBefore = os.loadavg()[0];
    if (PROFILE) toggleProfiles(services);
    const sqlBefore = await sqlTransactions(mesh.databaseUrl);
    const cpuBefore = cpuSnapshot(processes);
    const saturated = await runJobs({ mesh, receiver, label: 'saturated', count: JOBS, perSecond: Infinity, timeoutMs: 600_000 });
    saturated.cpuMsPerJob = cpuMsPerJob(cpuBefore, cpuSnapshot(processes), JOBS);
    if (PROFILE) {
      toggleProfiles(services);
      await nameProfiles(services);
    }
    // Other work on the machine slows every process here: the 1-minute load average says how much there was.
    saturated.loadAverage1m = { before: round2(loadBefore), after: round2(os.loadavg()[0]) };
    // Counted once every backend has flushed (the relays' idle polling during the wait is in it: a few dozen).
    await new Promise((resolve) => setTimeout(resolve, STATS_FLUSH_MS));
    saturated.sqlTransactionsPerJob = round2(((await sqlTransactions(mesh.databaseUrl)) - sqlBefore) / JOBS);
    const targetRate = Math.round(raw.messagesPerSecond * TARGET_SHARE);
    // Latency is measured at the target rate, or below the saturated rate when that is lower (a
    // run offered more than the mesh can take only measures its growing backlog).
    const pacedRate = Math.min(targetRate, Math.round(saturated.jobsPerSecond * PACED_SHARE_OF_SATURATED));
    log(`paced: ${pacedRate}/s for ${PACED_SECONDS} s (target ${targetRate}/s = 25 % of the raw ceiling) …`);
    const paced = await runJobs({ mesh, receiver, label: 'paced', count: pacedRate * PACED_SECONDS, perSecond: pacedRate, timeoutMs: 600_000 });

    const report = {
      benchmark: 'jobs',
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
      rawCeiling: raw,
      httpFloor,
      workerPrefetch: WORKER_PREFETCH,
      endToEnd: { saturated, paced },
      target: {
        share: TARGET_SHARE,
        rate: targetRate,
        p99Ms: TARGET_P99_MS,
        saturatedShareOfRaw: Math.round((saturated.jobsPerSecond / raw.messagesPerSecond) * 1000) / 1000,
        met: pacedRate === targetRate && paced.jobsPerSecond >= targetRate * KEPT_UP && paced.latencyMs.p99 < TARGET_P99_MS,
      },
    };
    const json = `${JSON.stringify(report, null, 2)}\n`;
    fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true });
    fs.writeFileSync(OUT_FILE, json);
    process.stdout.write(json);
  } finally {
    await mesh?.stop();
    await receiver.close();
    await node.dispose();
  }
}

main().catch((err) => {
  process.stderr.write(`bench:jobs failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
