'use strict';
// The load generator: N concurrent OpenAI-format SSE streams, each worker starting its next
// stream as soon as one ends, for a fixed time. Both targets (the fake upstream itself and the
// gateway's /v1/chat/completions) speak the same chunk format, so one reader measures both.
const http = require('node:http');

// The fake's answer is "tok1 tok2 … tokN": counting the words counts tokens, however many of
// them a chunk carries (the proxy merges tokens that reach it in one read).
const TOKEN = /tok\d+/g;
const TAIL_CHARS = 12;

function countTokens(text) {
  return text.match(TOKEN)?.length ?? 0;
}

/** Where the last complete token of a read ends (a read may stop inside "tok12"). */
function lastBoundary(text) {
  const from = Math.max(0, text.length - TAIL_CHARS);
  const match = /tok\d*$/.exec(text.slice(from));
  return match ? from + match.index : text.length;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

const round3 = (x) => (x === null ? null : Math.round(x * 1000) / 1000);

/** TTFT, the gap before every later token (0 for tokens that arrived together) and the count, for one stream. */
class StreamClock {
  constructor() {
    this.started = performance.now();
    this.firstAt = undefined;
    this.lastAt = undefined;
    this.gaps = [];
    this.tokens = 0;
  }

  tokensArrived(n) {
    if (n === 0) return;
    const now = performance.now();
    if (this.firstAt === undefined) this.firstAt = now;
    else this.gaps.push(now - this.lastAt);
    for (let i = 1; i < n; i++) this.gaps.push(0);
    this.lastAt = now;
    this.tokens += n;
  }

  /** The stream's result, or an error when it did not carry the whole answer. */
  result(expectTokens) {
    if (expectTokens && this.tokens !== expectTokens) return { error: `${this.tokens} tokens, expected ${expectTokens}` };
    return { ttftMs: this.firstAt - this.started, gaps: this.gaps, tokens: this.tokens };
  }
}

/** One stream: resolves with its TTFT, token gaps and token count, or with an error. */
function stream(target, agent, expectTokens) {
  return new Promise((resolve) => {
    const clock = new StreamClock();
    let sawDone = false;
    let sawError = false;
    let tail = '';
    const body = target.body();
    const req = http.request(
      { host: '127.0.0.1', port: target.port, path: target.path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...target.headers } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return resolve({ error: `HTTP ${res.statusCode}` });
        }
        res.setEncoding('utf8');
        res.on('data', (text) => {
          // A token split across two reads is counted once the rest arrives.
          const cut = lastBoundary(text);
          const joined = tail + text.slice(0, cut);
          tail = text.slice(cut);
          clock.tokensArrived(countTokens(joined));
          if (text.includes('[DONE]')) sawDone = true;
          if (text.includes('"error":')) sawError = true;
        });
        res.on('end', () => {
          clock.tokensArrived(countTokens(tail));
          if (sawError) return resolve({ error: 'error event in the stream' });
          if (!sawDone) return resolve({ error: 'stream ended without [DONE]' });
          resolve(clock.result(expectTokens));
        });
        res.on('error', (err) => resolve({ error: err.message }));
      },
    );
    req.on('error', (err) => resolve({ error: err.code || err.message }));
    req.end(body);
  });
}

/** The same measurements for a gRPC GenerateStream straight to the generation-proxy. */
function grpcStream(target, expectTokens) {
  return new Promise((resolve) => {
    const clock = new StreamClock();
    let finished = false;
    const call = target.client.generateStream(target.request(), target.metadata(), { deadline: new Date(Date.now() + 600_000) });
    call.on('data', (chunk) => {
      if (chunk.finishReason) finished = true;
      clock.tokensArrived(countTokens(chunk.delta));
    });
    call.on('error', (err) => resolve({ error: `gRPC ${err.code}: ${String(err.details).slice(0, 80)}` }));
    call.on('end', () => {
      if (!finished) return resolve({ error: 'stream ended without a final chunk' });
      resolve(clock.result(expectTokens));
    });
  });
}

/**
 * Runs `concurrency` workers for `durationMs` (each finishes its last stream) and summarises.
 * `minStreams` keeps the one-stream level from ending with too few TTFT samples.
 */
async function runPhase(target, { concurrency, durationMs, expectTokens, minStreams = 0 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const ttfts = [];
  const gaps = [];
  const errors = {};
  let tokens = 0;
  let streams = 0;
  const started = performance.now();
  const until = started + durationMs;
  const worker = async () => {
    while (performance.now() < until || streams < minStreams) {
      const result = target.client ? await grpcStream(target, expectTokens) : await stream(target, agent, expectTokens);
      streams++;
      if (result.error) {
        errors[result.error] = (errors[result.error] ?? 0) + 1;
        continue;
      }
      ttfts.push(result.ttftMs);
      for (const g of result.gaps) gaps.push(g);
      tokens += result.tokens;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallSeconds = (performance.now() - started) / 1000;
  agent.destroy();
  ttfts.sort((a, b) => a - b);
  gaps.sort((a, b) => a - b);
  const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
  return {
    streams,
    okStreams: ttfts.length,
    errors: errorCount,
    errorKinds: errors,
    tokens,
    wallSeconds: round3(wallSeconds),
    tokensPerSecond: round3(tokens / wallSeconds),
    ttftMs: { p50: round3(percentile(ttfts, 50)), p99: round3(percentile(ttfts, 99)) },
    interTokenMs: { p50: round3(percentile(gaps, 50)), p99: round3(percentile(gaps, 99)), p999: round3(percentile(gaps, 99.9)) },
  };
}

/**
 * Opens `count` streams, reads until the first token, then destroys each socket (a client that
 * goes away). The caller checks the upstream's abort counter.
 */
async function disconnectAfterFirstToken(target, count) {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const outcomes = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise((resolve) => {
          const body = target.body();
          const req = http.request(
            { host: '127.0.0.1', port: target.port, path: target.path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...target.headers } },
            (res) => {
              res.setEncoding('utf8');
              res.on('data', (text) => {
                if (countTokens(text) > 0) {
                  req.destroy();
                  resolve('disconnected');
                }
              });
              res.on('end', () => resolve('ended before a token'));
              res.on('error', () => undefined);
            },
          );
          req.on('error', () => undefined);
          req.end(body);
        }),
    ),
  );
  agent.destroy();
  return outcomes.filter((o) => o === 'disconnected').length;
}

module.exports = { runPhase, disconnectAfterFirstToken, countTokens, percentile };
