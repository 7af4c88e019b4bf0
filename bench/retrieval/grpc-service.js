'use strict';
// ragmesh "through the gRPC service": the real retrieval service as its own process (its
// main.ts, compiled on the fly like the rest of the bench), on a database and a RabbitMQ
// vhost of its own made anew for the run; ko-dev is ingested with IngestDocuments and every
// query is a Search call over loopback gRPC. Build time includes the PostgreSQL writes.
const { ROOT } = require('../lib/register-ts');
const path = require('node:path');
const os = require('node:os');
const { execFileSync } = require('node:child_process');
const grpc = require('@grpc/grpc-js');
const { loadSync } = require('@grpc/proto-loader');
const { Client } = require('pg');
const { PROTO_LOADER_OPTIONS, protoPath, serviceTokenInterceptor } = require('@ragmesh/contracts');
const { freePort, ServiceProcess } = require('@ragmesh/testing');

const BENCH_NAME = process.env.BENCH_RETRIEVAL_NAME || 'ragmesh_bench_retrieval';
const BASE_DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh';
const BASE_AMQP_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
/** The service's own batch limit (IngestDocuments takes at most 100 documents). */
const INGEST_BATCH = 100;
const INGEST_DEADLINE_MS = 60_000;
const SEARCH_DEADLINE_MS = 5_000;
const COLLECTION = 'ko-dev';

async function withAdmin(fn) {
  const admin = new URL(BASE_DATABASE_URL);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function recreateDatabase() {
  await withAdmin(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${BENCH_NAME} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${BENCH_NAME}`);
  });
  const url = new URL(BASE_DATABASE_URL);
  url.pathname = `/${BENCH_NAME}`;
  return url.toString();
}

const rabbitmqctl = (...args) => execFileSync('rabbitmqctl', args, { stdio: 'ignore', timeout: 30_000 });

/** A vhost of our own (dropped afterwards); without rabbitmqctl, the broker's default one. */
function recreateVhost() {
  try {
    try {
      rabbitmqctl('delete_vhost', BENCH_NAME);
    } catch {
      // not there yet
    }
    rabbitmqctl('add_vhost', BENCH_NAME);
    rabbitmqctl('set_permissions', '-p', BENCH_NAME, new URL(BASE_AMQP_URL).username || 'guest', '.*', '.*', '.*');
    return { url: `${BASE_AMQP_URL.replace(/\/+$/, '')}/${BENCH_NAME}`, own: true };
  } catch {
    return { url: BASE_AMQP_URL, own: false };
  }
}

function retrievalClient(port) {
  const definition = loadSync(protoPath('retrieval'), PROTO_LOADER_OPTIONS);
  const { RetrievalService } = grpc.loadPackageDefinition(definition).ragmesh.v1;
  return new RetrievalService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { interceptors: [serviceTokenInterceptor()] });
}

function call(client, method, request, deadlineMs) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: new Date(Date.now() + deadlineMs) }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/**
 * Starts the service, and returns `{ build, close }`: `build()` ingests the documents over gRPC
 * and returns the ko-dev search function; `close()` stops the process and drops its database/vhost.
 */
async function startGrpcRagmesh(env = {}) {
  const databaseUrl = await recreateDatabase();
  const vhost = recreateVhost();
  const [grpcPort, opsPort] = [await freePort(), await freePort()];
  const service = await ServiceProcess.start({
    args: ['-r', path.join(ROOT, 'bench', 'lib', 'register-ts.js'), path.join(ROOT, 'apps', 'retrieval', 'src', 'main.ts')],
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      AMQP_URL: vhost.url,
      RETRIEVAL_GRPC_PORT: String(grpcPort),
      OPS_PORT: String(opsPort),
      RETRIEVAL_INSTANCE_ID: `${BENCH_NAME}-${process.pid}`,
      LOG_LEVEL: 'warn',
      ...env,
    },
    logFile: path.join(os.tmpdir(), `${BENCH_NAME}-${process.pid}.log`),
    readyUrl: `http://127.0.0.1:${opsPort}/health/ready`,
    readyTimeoutMs: 120_000,
  });
  const client = retrievalClient(grpcPort);

  async function build(docs) {
    for (let i = 0; i < docs.length; i += INGEST_BATCH) {
      const documents = docs
        .slice(i, i + INGEST_BATCH)
        .map((doc) => ({ id: doc.id, title: doc.title, content: doc.text, format: 'text', collection: COLLECTION }));
      await call(client, 'ingestDocuments', { documents }, INGEST_DEADLINE_MS);
    }
    return async (question, k) => {
      const { results } = await call(client, 'search', { query: question, topK: k, collection: COLLECTION }, SEARCH_DEADLINE_MS);
      const ids = [];
      for (const r of results) if (!ids.includes(r.documentId)) ids.push(r.documentId);
      return ids;
    };
  }

  async function close() {
    client.close();
    await service.stop();
    await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${BENCH_NAME} WITH (FORCE)`));
    // Best effort: the next run recreates it anyway, and a slow broker must not fail the benchmark.
    if (vhost.own) {
      try {
        rabbitmqctl('delete_vhost', BENCH_NAME);
      } catch (err) {
        process.stderr.write(`bench:retrieval: could not delete vhost ${BENCH_NAME}: ${err.message.split('\n')[0]}\n`);
      }
    }
  }

  return { build, close, logFile: service.logFile };
}

module.exports = { startGrpcRagmesh };
