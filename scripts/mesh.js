#!/usr/bin/env node
// Runs the six services as separate processes from dist/ (after scripts/bootstrap.sh built it):
// starts them in dependency order, waits until each reports ready, and stops them all on
// Ctrl-C / SIGTERM or when one of them dies.
//
//   node scripts/mesh.js up [--demo]   start, (load the demo corpus and print how to use it), wait
//   node scripts/mesh.js stop          stop services left running by an earlier `up` (pid files)
//   node scripts/mesh.js status        show which services answer /health/ready
//
// Logs: .run/logs/<service>.log (JSON lines). Pids: .run/pids/<service>.pid.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const LOG_DIR = path.join(ROOT, '.run', 'logs');
const PID_DIR = path.join(ROOT, '.run', 'pids');
const READY_TIMEOUT_MS = Number(process.env.MESH_READY_TIMEOUT_MS || 60_000);
const READY_POLL_MS = 250;
const STOP_GRACE_MS = 10_000;
const LOG_TAIL_LINES = 30;
const SUPERVISOR_PID_FILE = path.join(PID_DIR, 'mesh.pid');

const env = process.env;
const GATEWAY_PORT = env.GATEWAY_PORT || '3000';

// Start order: the registry first (the proxy watches it), the gateway last (it calls the rest).
const SERVICES = [
  { name: 'model-registry', opsPort: env.REGISTRY_OPS_PORT || '9103' },
  { name: 'retrieval', opsPort: env.RETRIEVAL_OPS_PORT || '9101' },
  { name: 'generation-proxy', opsPort: env.GENERATION_OPS_PORT || '9102' },
  { name: 'summarizer', opsPort: env.SUMMARIZER_OPS_PORT || '9105' },
  { name: 'feedback-worker', opsPort: env.FEEDBACK_OPS_PORT || '9104' },
  { name: 'gateway', opsPort: GATEWAY_PORT },
].map((s) => ({
  ...s,
  main: path.join(ROOT, 'dist', 'apps', s.name, 'src', 'main.js'),
  readyUrl: `http://127.0.0.1:${s.opsPort}/health/ready`,
  metricsUrl: `http://127.0.0.1:${s.opsPort}/metrics`,
  logFile: path.join(LOG_DIR, `${s.name}.log`),
  pidFile: path.join(PID_DIR, `${s.name}.pid`),
}));

const say = (line) => console.log(`[mesh] ${line}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tail(file, lines = LOG_TAIL_LINES) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function probe(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { ok: res.status === 200, detail: `HTTP ${res.status} ${(await res.text()).slice(0, 300)}` };
  } catch (err) {
    return { ok: false, detail: err.cause?.code || err.message, refused: err.cause?.code === 'ECONNREFUSED' };
  }
}

// An orphan that exited stays a zombie until something reaps it; it counts as gone.
function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

// A pid file can outlive its process and the pid be reused: only trust it when the command
// line still names the same service entry point.
function recordedPid(svc) {
  let pid;
  try {
    pid = Number(fs.readFileSync(svc.pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes(path.join('dist', 'apps', svc.name, 'src', 'main.js'))) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

async function waitExit(pid, ms) {
  const deadline = Date.now() + ms;
  while (alive(pid) && Date.now() < deadline) await sleep(100);
  return !alive(pid);
}

async function stopPid(name, pid) {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (!(await waitExit(pid, STOP_GRACE_MS))) {
    say(`${name} did not stop within ${STOP_GRACE_MS / 1000}s; killing it`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await waitExit(pid, 2000);
  }
}

/**
 * Starts the services in order and resolves when all are ready. Returns a handle whose stop()
 * stops them in reverse order; onExit(cb) reports a service that dies on its own afterwards.
 */
async function startMesh({ services = SERVICES, extraEnv = {}, signal } = {}) {
  fs.mkdirSync(LOG_DIR, { recursive: true });
  fs.mkdirSync(PID_DIR, { recursive: true });
  // Services whose supervisor was killed (kill -9, closed terminal) would hold the ports forever.
  if (!supervisorAlive()) await stopLeftovers({ quiet: true });
  for (const svc of services) {
    if (!fs.existsSync(svc.main)) throw new Error(`${svc.name}: ${path.relative(ROOT, svc.main)} not found; run bash scripts/bootstrap.sh first`);
    const stale = recordedPid(svc);
    if (stale) throw new Error(`${svc.name} is already running (pid ${stale}); stop it with: node scripts/mesh.js stop`);
    const busy = await probe(svc.readyUrl);
    if (!busy.refused) throw new Error(`port ${svc.opsPort} for ${svc.name} is already in use (${busy.detail}); is another mesh running?`);
  }

  fs.writeFileSync(SUPERVISOR_PID_FILE, `${process.pid}\n`);
  const running = [];
  let stopping = false;
  let exitListener = () => {};
  const stop = async () => {
    stopping = true;
    for (const r of [...running].reverse()) {
      if (r.child.exitCode === null && r.child.signalCode === null) await stopPid(r.svc.name, r.child.pid);
      fs.rmSync(r.svc.pidFile, { force: true });
    }
    fs.rmSync(SUPERVISOR_PID_FILE, { force: true });
  };

  try {
    for (const svc of services) {
      signal?.throwIfAborted();
      const started = Date.now();
      const out = fs.openSync(svc.logFile, 'w');
      // OPS_PORT is per service, so a global one in the caller's environment must not leak in.
      const childEnv = { ...env, ...extraEnv, OPS_PORT: svc.opsPort };
      if (svc.name === 'gateway') delete childEnv.OPS_PORT;
      // detached: Ctrl-C reaches only this supervisor, which stops the services in order.
      const child = spawn(process.execPath, ['-r', path.join(ROOT, 'scripts', 'register-paths.js'), svc.main], {
        cwd: ROOT,
        env: childEnv,
        stdio: ['ignore', out, out],
        detached: true,
      });
      fs.closeSync(out);
      fs.writeFileSync(svc.pidFile, `${child.pid}\n`);
      const entry = { svc, child };
      running.push(entry);
      child.on('exit', (code, signal) => {
        if (!stopping) exitListener(svc, code, signal);
      });
      await waitReady(svc, child, signal);
      say(`${svc.name.padEnd(17)} ready in ${((Date.now() - started) / 1000).toFixed(1)}s  (pid ${child.pid}, log ${path.relative(process.cwd(), svc.logFile)})`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    services,
    stop,
    onExit(cb) {
      exitListener = cb;
    },
  };
}

async function waitReady(svc, child, signal) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${svc.name} exited (${child.exitCode ?? child.signalCode}) before it was ready; last lines of ${svc.logFile}:\n${tail(svc.logFile)}`);
    }
    const r = await probe(svc.readyUrl);
    if (r.ok) return;
    last = r.detail;
    await sleep(READY_POLL_MS);
  }
  throw new Error(`${svc.name} not ready at ${svc.readyUrl} after ${READY_TIMEOUT_MS / 1000}s (${last}); last lines of ${svc.logFile}:\n${tail(svc.logFile)}`);
}

function banner() {
  const gw = `http://127.0.0.1:${GATEWAY_PORT}`;
  const question = 'ragmesh에서 피드백 요청은 어떻게 처리되나요?';
  const key = env.RAGMESH_API_KEY || '<an API key: npm run keys -- create --name me --scopes chat>';
  const lines = [
    '',
    '  ragmesh is running',
    '',
    `  gateway (REST + SSE)   ${gw}/v1`,
    `  OpenAPI                ${gw}/openapi.json`,
    `  API key (development)  ${key}   (npm run keys -- create --name … --scopes … for more)`,
    `  health / metrics       ${gw}/health/ready   ${gw}/metrics`,
    ...SERVICES.filter((s) => s.name !== 'gateway').map((s) => `  ${s.name.padEnd(22)} ${s.metricsUrl}`),
    `  model-registry admin   http://127.0.0.1:${env.REGISTRY_HTTP_PORT || '3001'}`,
    `  logs                   ${path.relative(process.cwd(), LOG_DIR)}/<service>.log`,
    '',
    '  Try:',
    `  curl -s ${gw}/v1/chat/completions -H 'content-type: application/json' -H "authorization: Bearer ${key}" \\`,
    `    -d '{"model":"local-extractive","messages":[{"role":"user","content":"${question}"}]}'`,
    '',
    '  Streaming (SSE):',
    `  curl -N ${gw}/v1/chat/completions -H 'content-type: application/json' -H "authorization: Bearer ${key}" \\`,
    `    -d '{"model":"local-extractive","stream":true,"messages":[{"role":"user","content":"What happens when stream is true?"}]}'`,
    '',
    '  Ctrl-C stops the six services (PostgreSQL and RabbitMQ keep running).',
    '',
  ];
  console.log(lines.join('\n'));
}

async function up(args) {
  let mesh;
  let shuttingDown = false;
  const starting = new AbortController();
  const shutdown = async (reason, code) => {
    if (shuttingDown) return;
    shuttingDown = true;
    // Still starting: startMesh stops what it started and rejects, which ends the process.
    if (!mesh) return starting.abort(new Error(`${reason} during start-up; stopped the services started so far`));
    say(`${reason}: stopping the services`);
    await mesh.stop();
    say('stopped. PostgreSQL and RabbitMQ were left running.');
    process.exit(code);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => void shutdown(sig, 0));
  mesh = await startMesh({ signal: starting.signal });
  mesh.onExit((svc, code, signal) => {
    console.error(`[mesh] ${svc.name} exited (${code ?? signal}); last lines of its log:\n${tail(svc.logFile)}`);
    void shutdown(`${svc.name} died`, 1);
  });
  if (args.includes('--demo')) {
    const { loadDemoCorpus } = require('./load-demo-corpus');
    try {
      await loadDemoCorpus({ gatewayUrl: `http://127.0.0.1:${GATEWAY_PORT}`, log: say });
    } catch (err) {
      say(`demo corpus not loaded: ${err.message}`);
    }
    banner();
  } else {
    say('all services ready; Ctrl-C stops them');
  }
  // Keep the event loop alive until a signal arrives.
  setInterval(() => {}, 1 << 30);
}

function supervisorAlive() {
  try {
    const pid = Number(fs.readFileSync(SUPERVISOR_PID_FILE, 'utf8').trim());
    return pid !== process.pid && alive(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('mesh.js');
  } catch {
    return false;
  }
}

async function stopLeftovers({ quiet = false } = {}) {
  let any = false;
  for (const svc of [...SERVICES].reverse()) {
    const pid = recordedPid(svc);
    if (pid) {
      any = true;
      say(`stopping ${svc.name} (pid ${pid}) left from an earlier run`);
      await stopPid(svc.name, pid);
    }
    fs.rmSync(svc.pidFile, { force: true });
  }
  if (!any && !quiet) say('no services from an earlier run are running');
}

async function status() {
  let ready = 0;
  for (const svc of SERVICES) {
    const r = await probe(svc.readyUrl);
    if (r.ok) ready += 1;
    say(`${svc.name.padEnd(17)} ${r.ok ? 'ready' : `not ready (${r.detail})`}`);
  }
  return ready === SERVICES.length ? 0 : 1;
}

module.exports = { startMesh, SERVICES };

if (require.main === module) {
  const [cmd = 'up', ...args] = process.argv.slice(2);
  const run = { up: () => up(args), stop: () => stopLeftovers(), status: async () => process.exit(await status()) }[cmd];
  if (!run) {
    console.error('usage: node scripts/mesh.js up [--demo] | stop | status');
    process.exit(2);
  }
  run().catch((err) => {
    console.error(`[mesh] ${err.message}`);
    process.exit(1);
  });
}
