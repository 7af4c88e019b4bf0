'use strict';
const { performance } = require('node:perf_hooks');

const TOP_K = 10;
const WARMUP_QUERIES = 50;

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

const round = (x, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Scores a retriever the way ko-dev's README says: top 10 ids per query, Recall@1/5/10 and
 * MRR@10; latency of sequential calls after a short warm-up.
 * `search(question, k)` returns document ids best first (sync or async).
 */
async function evaluate(queries, search) {
  for (const q of queries.slice(0, WARMUP_QUERIES)) await search(q.question, TOP_K);
  let r1 = 0;
  let r5 = 0;
  let r10 = 0;
  let mrr = 0;
  const latencies = [];
  for (const q of queries) {
    const started = performance.now();
    const ids = await search(q.question, TOP_K);
    latencies.push(performance.now() - started);
    const rank = ids.slice(0, TOP_K).findIndex((id) => q.goldIds.includes(id)) + 1;
    if (rank > 0) {
      if (rank <= 1) r1 += 1;
      if (rank <= 5) r5 += 1;
      r10 += 1;
      mrr += 1 / rank;
    }
  }
  const n = queries.length;
  latencies.sort((a, b) => a - b);
  return {
    queries: n,
    recallAt1: round(r1 / n),
    recallAt5: round(r5 / n),
    recallAt10: round(r10 / n),
    mrrAt10: round(mrr / n),
    latencyMs: { p50: round(percentile(latencies, 50), 3), p95: round(percentile(latencies, 95), 3) },
  };
}

/** Builds an index and times it; `build()` returns the search function. */
async function measure(name, build, queries) {
  const started = performance.now();
  const search = await build();
  const buildMs = performance.now() - started;
  const scores = await evaluate(queries, search);
  return { name, ...scores, indexBuildMs: round(buildMs, 1) };
}

module.exports = { evaluate, measure, percentile, round, TOP_K };
