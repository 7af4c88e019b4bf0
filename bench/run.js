'use strict';
// `npm run bench`: runs every benchmark in bench/ (each folder with an index.js: retrieval,
// gateway, jobs, …) in turn, each its own process so heap and JIT state do not leak between
// them; each writes bench/results/<name>.json (run.js writes it from the printed JSON when a
// benchmark does not). Then rewrites the summary table at the top of docs/benchmarks.md from
// every bench/results/*.json, leaving the per-area sections below it alone. Prints the reports
// as one JSON array.
//
//   node bench/run.js                    # every benchmark, then the summary
//   node bench/run.js --only retrieval   # some of them (comma-separated)
//   node bench/run.js --summary-only     # only rebuild the summary from bench/results/
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const RESULTS_DIR = path.join(__dirname, 'results');
const DOC = path.join(ROOT, 'docs', 'benchmarks.md');
const START = '<!-- bench:summary:start -->';
const END = '<!-- bench:summary:end -->';

function argValue(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function discover() {
  return fs
    .readdirSync(__dirname, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'lib' && e.name !== 'results' && fs.existsSync(path.join(__dirname, e.name, 'index.js')))
    .map((e) => e.name)
    .sort();
}

function runOne(name) {
  process.stderr.write(`bench: ${name} …\n`);
  const started = Date.now();
  const result = spawnSync(process.execPath, [path.join(__dirname, name, 'index.js')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  if (result.status !== 0) return { benchmark: name, error: `exited with ${result.status ?? result.signal} after ${seconds} s` };
  const report = JSON.parse(result.stdout);
  const file = path.join(RESULTS_DIR, `${name}.json`);
  if (!fs.existsSync(file) || fs.statSync(file).mtimeMs < started) {
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  }
  process.stderr.write(`bench: ${name} done in ${seconds} s\n`);
  return report;
}

const round = (v, digits = 3) => (typeof v === 'number' ? Number(v.toFixed(digits)) : v);
const pass = (t) => (t?.pass === true ? 'met' : t?.pass === false ? 'missed' : 'not measured');
/** A target's value as the table shows it: objects (per-level figures) as `key: value` pairs. */
const shown = (v) => (v !== null && typeof v === 'object' ? Object.entries(v).map(([k, x]) => `${k}: ${x}`).join(', ') : String(v));

/** One summary row per benchmark: what it compares against (measured in the same run) and the headline. */
const SUMMARIES = {
  retrieval(r) {
    const { lead, scale } = r;
    const rows = [
      [
        `ko-dev, ${r.dataset?.documents} docs / ${r.dataset?.queries} queries`,
        `best peer: ${lead.bestPeer.name} (${lead.bestPeer.variant})`,
        `ragmesh (${lead.ragmesh.variant}) R@1 ${round(lead.ragmesh.recallAt1)}, MRR@10 ${round(lead.ragmesh.mrrAt10)}; peer R@1 ${round(lead.bestPeer.recallAt1)}, MRR@10 ${round(lead.bestPeer.mrrAt10)} (Δ MRR@10 ${lead.mrrAt10 >= 0 ? '+' : ''}${lead.mrrAt10})`,
      ],
    ];
    for (const v of scale?.variants ?? []) {
      rows.push([
        `scale point, ${scale.chunks} chunks (${v.variant})`,
        '—',
        `search p50 ${round(v.latencyMs?.p50, 1)} ms, p95 ${round(v.latencyMs?.p95, 1)} ms; ko-dev among them R@1 ${round(v.koDevAmongDistractors?.recallAt1)}`,
      ]);
    }
    return rows;
  },
  gateway(r) {
    const rows = r.levels.map((l) => [
      `${l.concurrency} concurrent SSE streams`,
      `client → fake upstream directly: ${round(l.direct.tokensPerSecond, 0)} tokens/s, inter-token p99 ${round(l.direct.interTokenMs?.p99, 1)} ms`,
      `through the mesh (rag off): ${round(l.ragOff.tokensPerSecond, 0)} tokens/s (${round(l.ragOff.tokensPerSecond / l.direct.tokensPerSecond, 2)}×), inter-token p99 ${round(l.ragOff.interTokenMs?.p99, 1)} ms; rag on ${round(l.ragOn?.tokensPerSecond, 0)} tokens/s`,
    ]);
    const targets = Object.entries(r.targets ?? {}).map(([name, t]) => `${name} ${t.target}: ${t.target.startsWith('info') ? '' : `${pass(t)} `}${t.value !== null && t.value !== undefined ? `(${shown(t.value)})` : ''}`);
    if (targets.length) rows.push(['targets', '—', targets.join('; ')]);
    return rows;
  },
  jobs(r) {
    const { saturated, paced } = r.endToEnd;
    return [
      [
        'feedback jobs end to end (POST → callback)',
        `raw broker ceiling: ${round(r.rawCeiling.messagesPerSecond, 0)} messages/s`,
        `saturated ${round(saturated.jobsPerSecond, 0)} jobs/s (${round(r.target.saturatedShareOfRaw, 3)} of raw); paced ${round(paced.jobsPerSecond, 0)} jobs/s, p50 ${round(paced.latencyMs?.p50, 0)} ms, p99 ${round(paced.latencyMs?.p99, 0)} ms; target ${r.target.met ? 'met' : 'missed'}`,
      ],
    ];
  },
};

function summaryRows(name, report) {
  if (report.error) return [[name, '—', `failed: ${report.error}`]];
  try {
    const summarize = SUMMARIES[name];
    if (summarize) return summarize(report).map((row) => [name, ...row]);
  } catch (err) {
    return [[name, '—', `no summary (${err.message}); see bench/results/${name}.json`]];
  }
  const numbers = Object.entries(report).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${k} ${round(v)}`);
  return [[name, '—', numbers.join(', ') || `see bench/results/${name}.json`]];
}

function summaryTable(reports) {
  const lines = [
    START,
    '## Summary',
    '',
    'Written by `npm run bench` (`bench/run.js`) from `bench/results/*.json`; every comparison is',
    'measured in the same run on the same machine. Details and commands are in the sections below.',
    '',
    '| benchmark | case | baseline (same run) | ragmesh |',
    '| --- | --- | --- | --- |',
  ];
  for (const [name, report] of reports) {
    for (const [bench, what, baseline, result] of summaryRows(name, report)) {
      lines.push(`| ${bench} | ${what} | ${baseline} | ${result} |`);
    }
  }
  const machines = [...new Set([...reports.values()].map((r) => r.machine && `${r.machine.cpus} CPUs, Node ${r.machine.node}`).filter(Boolean))];
  lines.push('', `Machine: ${machines.join('; ') || 'unknown'}.`, END);
  return lines.join('\n');
}

function writeSummary() {
  const reports = new Map();
  if (fs.existsSync(RESULTS_DIR)) {
    for (const f of fs.readdirSync(RESULTS_DIR).filter((n) => n.endsWith('.json')).sort()) {
      reports.set(path.basename(f, '.json'), JSON.parse(fs.readFileSync(path.join(RESULTS_DIR, f), 'utf8')));
    }
  }
  const table = summaryTable(reports);
  const current = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : '# Benchmarks\n';
  const next = current.includes(START)
    ? current.slice(0, current.indexOf(START)) + table + current.slice(current.indexOf(END) + END.length)
    : current.replace(/^(# [^\n]*\n)/, `$1\n${table}\n`);
  fs.mkdirSync(path.dirname(DOC), { recursive: true });
  fs.writeFileSync(DOC, next.includes(START) ? next : `${next}\n${table}\n`);
}

function main() {
  const reports = [];
  let failed = false;
  if (!process.argv.includes('--summary-only')) {
    const only = argValue('--only')?.split(',');
    for (const name of discover().filter((n) => !only || only.includes(n))) {
      const report = runOne(name);
      if (report.error) failed = true;
      reports.push(report);
    }
  }
  writeSummary();
  process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
  process.exit(failed ? 1 : 0);
}

main();
