'use strict';
// End-to-end feedback jobs: POST /v1/feedback → outbox → relay → RabbitMQ → feedback-worker →
// generation-proxy (local engine) → signed callback received. Latency of a job = callback
// received − POST sent; rate = jobs / (last callback − first POST).
const { feedbackRequest, postPaced } = require('../../test/e2e/jobs-support');

/** POSTs open at once; enough that the gateway, not the client, is the limit. */
const CONCURRENCY = 64;

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Runs `count` jobs at `perSecond` (Infinity: as fast as the gateway takes them) and waits for
 * every callback.
 */
async function runJobs({ mesh, receiver, label, count, perSecond, timeoutMs }) {
  const path = `/bench-${label}`;
  const posting = postPaced(mesh.gatewayUrl, count, {
    perSecond,
    concurrency: CONCURRENCY,
    body: (i) => feedbackRequest(`bench-${label}-${i}`, receiver.url(path)),
  });
  const jobIds = await posting.done;
  const postsDone = Date.now();
  await receiver.waitForJobs(jobIds, timeoutMs);
  const firstPost = Math.min(...posting.sentAt.values());
  const latencies = [];
  let lastCallback = 0;
  for (const jobId of jobIds) {
    const received = receiver.deliveriesOf(jobId)[0].receivedAt;
    lastCallback = Math.max(lastCallback, received);
    latencies.push(received - posting.sentAt.get(jobId));
  }
  latencies.sort((a, b) => a - b);
  const ids = new Set(jobIds);
  const seconds = (lastCallback - firstPost) / 1000;
  return {
    label,
    jobs: count,
    offeredPerSecond: Number.isFinite(perSecond) ? perSecond : 'unbounded',
    postsPerSecond: Math.round(count / ((postsDone - firstPost) / 1000)),
    jobsPerSecond: Math.round(count / seconds),
    seconds: Math.round(seconds * 1000) / 1000,
    latencyMs: { p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: latencies.at(-1) },
    duplicates: receiver.duplicates().filter((d) => ids.has(d.jobId)).length,
  };
}

module.exports = { runJobs, CONCURRENCY };
