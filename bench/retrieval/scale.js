'use strict';
// The scale point of bench:retrieval: ~100k chunks of Korean-like text generated from the
// ko-dev vocabulary, plus the real ko-dev corpus (so the ko-dev queries still have their gold
// documents among 100k distractors). Measures BM25 + dense + fusion query latency in-process
// and the heap the index takes per 100k chunks. `node bench/retrieval/scale.js` runs it alone.
require('../lib/register-ts');
const v8 = require('node:v8');
const vm = require('node:vm');
const { performance } = require('node:perf_hooks');
const { loadKoDev } = require('./dataset');
const { createRagmesh } = require('./ragmesh');
const { evaluate, round } = require('./score');

const DEFAULT_SCALE_CHUNKS = 100_000;
/** Sentences per synthetic document (one chunk each at the service's 200-token chunk size). */
const SENTENCES_PER_DOC = { min: 3, max: 6 };
const SEED = 20240601;
/** Query latency is measured on this many ko-dev questions (after the scorer's warm-up). */
const LATENCY_QUERIES = 500;
/**
 * Query-time variants measured on the same index: the service as shipped, and BM25 walking
 * every query term (what the term skip costs or saves).
 */
const VARIANTS = [
  { variant: 'service defaults (skips query terms in > 50% of chunks)', index: {} },
  { variant: 'every query term walked', index: { skipTermDfFraction: Infinity } },
];

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

/** mulberry32: a small seeded PRNG, so every run indexes the same text. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Words (space-separated eojeol, particles attached) drawn with their ko-dev frequencies, and
 * sentence lengths drawn from ko-dev's own: the text has Korean's token statistics (a Zipf
 * head of particles and common syllables, a long tail) without being real prose.
 */
function syntheticText(docs) {
  const words = [];
  const lengths = [];
  for (const doc of docs) {
    const tokens = doc.text.split(/\s+/u).filter((t) => t !== '');
    words.push(...tokens);
    lengths.push(tokens.length);
  }
  const random = prng(SEED);
  const pick = (list) => list[Math.floor(random() * list.length)];
  const sentence = () => {
    const n = pick(lengths);
    const out = [];
    for (let i = 0; i < n; i += 1) out.push(pick(words));
    return `${out.join(' ')}.`;
  };
  return () => {
    const n = SENTENCES_PER_DOC.min + Math.floor(random() * (SENTENCES_PER_DOC.max - SENTENCES_PER_DOC.min + 1));
    return Array.from({ length: n }, sentence).join(' ');
  };
}

function heapBytes() {
  gc();
  gc();
  const m = process.memoryUsage();
  // Float32Array vectors live outside the JS heap (arrayBuffers): both are the index's memory.
  return m.heapUsed + m.arrayBuffers;
}

async function measureScale(data = loadKoDev(), targetChunks = DEFAULT_SCALE_CHUNKS, overrides = {}) {
  const next = syntheticText(data.docs);
  const before = heapBytes();
  const { index, ingest, searcher } = createRagmesh(overrides);
  const started = performance.now();
  for (const doc of data.docs) await ingest.execute({ id: doc.id, title: doc.title, content: doc.text, format: 'text' });
  let i = 0;
  while (index.chunkCount < targetChunks) {
    await ingest.execute({ id: `synthetic-${i}`, title: '', content: next(), format: 'text' });
    i += 1;
  }
  const buildMs = performance.now() - started;
  const bytes = heapBytes() - before;

  const search = async (question, k) => {
    const { results } = await searcher.execute({ query: question, topK: k });
    const ids = [];
    for (const r of results) if (!ids.includes(r.documentId)) ids.push(r.documentId);
    return ids;
  };
  const defaults = { skipTermDfFraction: index.skipTermDfFraction, skipTermMinDf: index.skipTermMinDf };
  const variants = [];
  for (const { variant, index: settings } of VARIANTS) {
    Object.assign(index, defaults, settings);
    process.stderr.write(`bench:retrieval scale: ${variant}…\n`);
    const quality = await evaluate(data.queries, search);
    const latency = await evaluate(data.queries.slice(0, LATENCY_QUERIES), search);
    variants.push({
      variant,
      latencyMs: latency.latencyMs,
      latencyQueries: latency.queries,
      koDevAmongDistractors: {
        recallAt1: quality.recallAt1,
        recallAt5: quality.recallAt5,
        recallAt10: quality.recallAt10,
        mrrAt10: quality.mrrAt10,
      },
    });
  }
  Object.assign(index, defaults);
  return {
    chunks: index.chunkCount,
    documents: index.documentCount,
    syntheticDocuments: i,
    indexBuildMs: round(buildMs, 0),
    heapBytes: bytes,
    heapBytesPer100kChunks: Math.round((bytes / index.chunkCount) * 100_000),
    variants,
  };
}

module.exports = { measureScale, syntheticText, DEFAULT_SCALE_CHUNKS };

if (require.main === module) {
  const chunks = Number(process.env.BENCH_SCALE_CHUNKS || DEFAULT_SCALE_CHUNKS);
  measureScale(loadKoDev(), chunks).then(
    (result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
    (err) => {
      process.stderr.write(`bench:retrieval scale failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
