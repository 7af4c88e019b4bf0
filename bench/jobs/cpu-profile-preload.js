'use strict';
// Preloaded into every mesh process by BENCH_PROFILE=1 (NODE_OPTIONS=--require …: --cpu-prof is not
// allowed there). SIGUSR2 starts a V8 CPU profile, the next SIGUSR2 writes it as
// <BENCH_PROFILE_DIR>/<pid>.cpuprofile, so the profile covers the measured run only, not the boot.
const fs = require('node:fs');
const inspector = require('node:inspector');
const path = require('node:path');

const dir = process.env.BENCH_PROFILE_DIR;
const session = new inspector.Session();
let running = false;

process.on('SIGUSR2', () => {
  if (!running) {
    session.connect();
    session.post('Profiler.enable', () => session.post('Profiler.start'));
    running = true;
    return;
  }
  running = false;
  session.post('Profiler.stop', (err, result) => {
    if (!err && dir) fs.writeFileSync(path.join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    session.disconnect();
  });
});
