'use strict';
// The CPU floor of this machine for one HTTP exchange: a bare node:http keep-alive POST round
// trip, client and server in this process, no framework. A feedback job makes one HTTP request
// in and one callback out besides gRPC, AMQP and SQL, so this says what "CPU ms per job" can
// reasonably get down to here, measured under the same load as the rest of the run.
const http = require('node:http');

const BODY = JSON.stringify({ memberId: 'floor', content: 'x'.repeat(500) });

function postOnce(port, agent) {
  return new Promise((resolve, reject) => {
    const req = http.request({ port, method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(BODY);
  });
}

async function measureHttpFloor({ requests = 2000 } = {}) {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{"ok":true}'));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new http.Agent({ keepAlive: true });
  try {
    const port = server.address().port;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < requests; i++) await postOnce(port, agent);
    const cpu = process.cpuUsage(cpuBefore);
    return {
      requests,
      cpuMsPerRoundTrip: Math.round(((cpu.user + cpu.system) / 1000 / requests) * 1000) / 1000,
      wallMsPerRoundTrip: Math.round(((performance.now() - started) / requests) * 1000) / 1000,
    };
  } finally {
    agent.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

module.exports = { measureHttpFloor };
