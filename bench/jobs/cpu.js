'use strict';
// CPU time spent per job by each mesh process, from /proc (Linux). On a shared machine the
// wall-clock rate depends on what else runs; CPU milliseconds per job do much less, and they
// show which process a faster pipeline has to slim down.
const fs = require('node:fs');

const CLOCK_TICKS_PER_SECOND = 100;

/** The mesh's service processes: node processes whose environment names this run's broker. */
function meshProcesses(amqpUrl) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const service = /apps\/([a-z-]+)\/src\/main\.js/.exec(cmdline)?.[1];
      if (!service) continue;
      const environ = fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (environ.includes(`AMQP_URL=${amqpUrl}`)) found.push({ name: service, pid: Number(entry) });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

function cpuSecondsOf(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime: fields 14 and 15 of stat, 12 and 13 after the command name.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Snapshot of CPU seconds by process name (the broker's VM as "rabbitmq"). */
function cpuSnapshot(processes) {
  const snapshot = {};
  for (const { name, pid } of processes) snapshot[name] = (snapshot[name] ?? 0) + cpuSecondsOf(pid);
  return snapshot;
}

function cpuMsPerJob(before, after, jobs) {
  const perJob = {};
  let total = 0;
  for (const name of Object.keys(after)) {
    const ms = ((after[name] - (before[name] ?? 0)) * 1000) / jobs;
    perJob[name] = Math.round(ms * 100) / 100;
    total += ms;
  }
  perJob.total = Math.round(total * 100) / 100;
  return perJob;
}

module.exports = { meshProcesses, cpuSnapshot, cpuMsPerJob };
