'use strict';
// bench:retrieval — ko-dev Recall@1/5/10, MRR@10, index build time and query latency for
// ragmesh's retrieval (in-process: the service's own ingest/search use-cases; and through the
// gRPC service: the real service process on PostgreSQL and RabbitMQ, BENCH_GRPC=0 skips it)
// and for the well-known JS search libraries, each with its defaults and fed ragmesh's BM25
// tokenizer.
// Then the scale point (bench/retrieval/scale.js; BENCH_SCALE_CHUNKS=0 skips it).
// Prints one JSON document on stdout (and writes it to bench/results/retrieval.json);
// progress goes to stderr.
const { ROOT } = require('../lib/register-ts');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { loadKoDev } = require('./dataset');
const { measure } = require('./score');
const { buildRagmesh } = require('./ragmesh');
const { peerRuns } = require('./peers');
const { measureScale, DEFAULT_SCALE_CHUNKS } = require('./scale');
const { startGrpcRagmesh } = require('./grpc-service');

// The weight the ko-dev sweep picked for the local hashing embedder (docs/architecture.md);
// the service default stays 0.6 (the default, right for a real embedding model).
const TUNED_BM25_WEIGHT = 0.9;
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');

async function main() {
  const data = loadKoDev();
  const runs = [
    { name: 'ragmesh', variant: 'in-process, service defaults', build: () => buildRagmesh(data.docs) },
    {
      name: 'ragmesh',
      variant: `in-process, bm25Weight ${TUNED_BM25_WEIGHT}`,
      build: () => buildRagmesh(data.docs, { search: { bm25Weight: TUNED_BM25_WEIGHT } }),
    },
    {
      name: 'ragmesh',
      variant: 'in-process, rrf',
      build: () => buildRagmesh(data.docs, { search: { method: 'rrf', bm25Weight: 0.5 } }),
    },
    ...peerRuns(data.docs),
  ];
  const results = [];
  for (const run of runs) {
    process.stderr.write(`bench:retrieval ${run.name} (${run.variant})…\n`);
    const result = await measure(run.name, run.build, data.queries);
    results.push({ ...result, variant: run.variant });
  }
  // BENCH_GRPC=0 skips the service row (it needs PostgreSQL and RabbitMQ).
  if (process.env.BENCH_GRPC !== '0') {
    process.stderr.write('bench:retrieval ragmesh (gRPC service)…\n');
    results.splice(3, 0, await measureThroughService(data));
  }
  const peers = results.filter((r) => r.name !== 'ragmesh');
  const best = (key) => peers.reduce((a, b) => (b[key] > a[key] ? b : a));
  const bestPeer = best('mrrAt10');
  const ragmesh = results.filter((r) => r.name === 'ragmesh');
  const bestRagmesh = ragmesh.reduce((a, b) => (b.mrrAt10 > a.mrrAt10 ? b : a));
  // The scale point runs last, in the same process, once the ko-dev runs have freed their indexes.
  const scaleChunks = Number(process.env.BENCH_SCALE_CHUNKS ?? DEFAULT_SCALE_CHUNKS);
  let scale = null;
  if (scaleChunks > 0) {
    process.stderr.write(`bench:retrieval scale point (${scaleChunks} chunks)…\n`);
    scale = await measureScale(data, scaleChunks);
  }
  const report = {
    benchmark: 'retrieval',
    dataset: { name: 'ko-dev', dir: data.dir, documents: data.docs.length, queries: data.queries.length },
    machine: { cpus: os.cpus().length, node: process.version },
    results,
    lead: {
      bestPeer: { name: bestPeer.name, variant: bestPeer.variant, recallAt1: bestPeer.recallAt1, mrrAt10: bestPeer.mrrAt10 },
      ragmesh: { variant: bestRagmesh.variant, recallAt1: bestRagmesh.recallAt1, mrrAt10: bestRagmesh.mrrAt10 },
      mrrAt10: Math.round((bestRagmesh.mrrAt10 - bestPeer.mrrAt10) * 1e4) / 1e4,
      recallAt1: Math.round((bestRagmesh.recallAt1 - best('recallAt1').recallAt1) * 1e4) / 1e4,
    },
    scale,
  };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, 'retrieval.json'), json);
  process.stdout.write(json);
}

/** The real service process, service defaults; build time includes its PostgreSQL writes. */
async function measureThroughService(data) {
  const service = await startGrpcRagmesh();
  try {
    const result = await measure('ragmesh', () => service.build(data.docs), data.queries);
    return { ...result, variant: 'gRPC service, service defaults' };
  } finally {
    await service.close();
  }
}

main().catch((err) => {
  process.stderr.write(`bench:retrieval failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
