'use strict';
// The transport floor under the one-stream TTFT target: how long the first byte of an answer
// takes over one bare loopback hop on this machine, with nothing but Node's own stack on it.
// A server process (this file, run as a child with --serve) answers a plain node:http SSE request
// and a grpc-js server-streaming call with one message at once; the parent times request start →
// first body byte / first message, one call at a time, idling `gapMs` between calls as a
// one-stream client does between tokens (an idle process on this VM wakes up slower than a busy one).
// The mesh's two hops add one HTTP hop (client → gateway) and one gRPC hop (gateway → proxy)
// over the direct client → upstream request: their two p50s added are what no code can go under.
const { fork } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');

const SERVICE = {
  Stream: {
    path: '/ragmesh.bench.Floor/Stream',
    requestStream: false,
    responseStream: true,
    requestSerialize: (b) => b,
    requestDeserialize: (b) => b,
    responseSerialize: (b) => b,
    responseDeserialize: (b) => b,
  },
};
const CHUNK = 'data: {"choices":[{"index":0,"delta":{"content":" tok"}}]}\n\n';

function serve(httpPort, grpcPort) {
  const grpc = require('@grpc/grpc-js');
  const server = new grpc.Server();
  server.addService(SERVICE, {
    Stream: (call) => {
      call.write(Buffer.from(CHUNK));
      call.end();
    },
  });
  const web = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(CHUNK);
  });
  server.bindAsync(`127.0.0.1:${grpcPort}`, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) throw err;
    web.listen(httpPort, '127.0.0.1', () => process.send?.('ready'));
  });
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const r3 = (x) => Math.round(x * 1000) / 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function sample(once, calls, gapMs) {
  for (let i = 0; i < 30; i++) await once();
  const times = [];
  for (let i = 0; i < calls; i++) {
    times.push(await once());
    if (gapMs > 0) await sleep(gapMs);
  }
  times.sort((a, b) => a - b);
  return { p50: r3(percentile(times, 0.5)), p90: r3(percentile(times, 0.9)) };
}

/** First byte over one bare hop, HTTP and gRPC, server in another process; resolves to JSON for the report. */
async function measureTransportFloor({ httpPort, grpcPort, gapMs, calls = 300 }) {
  const grpc = require('@grpc/grpc-js');
  const child = fork(__filename, ['--serve', String(httpPort), String(grpcPort)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`transport floor server exited ${code}`)));
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const httpOnce = () =>
      new Promise((resolve, reject) => {
        const start = performance.now();
        const req = http.request({ host: '127.0.0.1', port: httpPort, method: 'POST', path: '/', agent }, (res) => {
          res.once('data', () => {
            const ms = performance.now() - start;
            res.resume();
            res.once('end', () => resolve(ms));
          });
        });
        req.once('error', reject);
        req.end('{}');
      });
    const Client = grpc.makeGenericClientConstructor(SERVICE);
    const client = new Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    const grpcOnce = () =>
      new Promise((resolve, reject) => {
        const start = performance.now();
        const call = client.Stream(Buffer.from('{}'));
        let ms;
        call.on('data', () => {
          ms ??= performance.now() - start;
        });
        call.once('error', reject);
        call.once('end', () => resolve(ms));
      });
    const httpHop = await sample(httpOnce, calls, gapMs);
    const grpcHop = await sample(grpcOnce, calls, gapMs);
    client.close();
    agent.destroy();
    return {
      gapMs,
      calls,
      httpFirstByteMs: httpHop,
      grpcFirstMessageMs: grpcHop,
      // The mesh adds an HTTP hop and a gRPC hop over the direct request.
      twoHopsAddedTtftFloorP50Ms: r3(httpHop.p50 + grpcHop.p50),
    };
  } finally {
    child.kill();
  }
}

if (process.argv[2] === '--serve') serve(Number(process.argv[3]), Number(process.argv[4]));

module.exports = { measureTransportFloor, FLOOR_SCRIPT: path.basename(__filename) };
