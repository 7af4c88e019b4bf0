'use strict';
// Runs every benchmark in bench/ in turn (each its own process, so heap and JIT state do
// not leak between them) and prints their JSON reports as one JSON array.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const BENCHMARKS = ['retrieval'];

const reports = [];
let failed = false;
for (const name of BENCHMARKS) {
  const result = spawnSync(process.execPath, [path.join(__dirname, name, 'index.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    failed = true;
    reports.push({ benchmark: name, error: `exited with ${result.status ?? result.signal}` });
    continue;
  }
  reports.push(JSON.parse(result.stdout));
}
process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
process.exit(failed ? 1 : 0);
