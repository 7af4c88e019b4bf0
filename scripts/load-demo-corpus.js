#!/usr/bin/env node
// Loads a small Korean + English demo corpus into a running mesh through the public API
// (POST /v1/documents), so `npm start` ends with something to ask questions about.
//
// Sources: deploy/demo/corpus.jsonl (always; about ragmesh itself) and, when the shared data
// folder exists beside the repository (../shared/data/ko-dev), an even sample of its KLUE
// corpus. Ids are fixed, so loading twice replaces the documents instead of duplicating them.
//
// Usage: node scripts/load-demo-corpus.js [--gateway URL] [--limit N] [--builtin-only]
// Env:   GATEWAY_URL, RAGMESH_API_KEY (sent as a Bearer token when set), KO_DEV_DIR
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const BUILTIN_CORPUS = path.join(ROOT, 'deploy', 'demo', 'corpus.jsonl');
const KO_DEV_DIR = process.env.KO_DEV_DIR || path.resolve(ROOT, '..', 'shared', 'data', 'ko-dev');
const DEFAULT_KO_DEV_LIMIT = 150;
const UPLOAD_CONCURRENCY = 4;
const REQUEST_TIMEOUT_MS = 30_000;

function readJsonl(file) {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line);
      } catch (err) {
        throw new Error(`${file}:${i + 1}: not JSON (${err.message})`);
      }
    });
}

// Every k-th record, so the sample covers all of the corpus's sources instead of the first one.
function evenSample(records, limit) {
  if (records.length <= limit) return records;
  const step = records.length / limit;
  return Array.from({ length: limit }, (_, i) => records[Math.floor(i * step)]);
}

function demoDocuments({ koDevLimit = DEFAULT_KO_DEV_LIMIT, builtinOnly = false } = {}) {
  const docs = readJsonl(BUILTIN_CORPUS).map((r) => ({
    id: r.id,
    title: r.title,
    format: 'text',
    content: r.text,
    metadata: { source: r.source, lang: r.lang || 'ko', collection: 'demo' },
  }));
  const koDevCorpus = path.join(KO_DEV_DIR, 'corpus.jsonl');
  let koDevCount = 0;
  if (!builtinOnly && koDevLimit > 0 && fs.existsSync(koDevCorpus)) {
    for (const r of evenSample(readJsonl(koDevCorpus), koDevLimit)) {
      docs.push({
        id: `ko-dev-${r.id}`,
        // ko-dev has no titles; the API wants one, so take the start of the text.
        title: r.title || [...r.text].slice(0, 30).join(''),
        format: 'text',
        content: r.text,
        metadata: { source: r.source, lang: 'ko', dataset: 'ko-dev', licence: 'CC BY-SA 4.0 (KLUE)' },
      });
      koDevCount += 1;
    }
  }
  return { docs, koDevCount, koDevCorpus };
}

async function postDocument(gatewayUrl, doc, apiKey) {
  const headers = { 'content-type': 'application/json' };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  const res = await fetch(`${gatewayUrl}/v1/documents`, {
    method: 'POST',
    headers,
    body: JSON.stringify(doc),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (res.status >= 300) {
    const text = await res.text();
    throw new Error(`${doc.id}: HTTP ${res.status} ${text.slice(0, 300)}`);
  }
  return res.json();
}

async function loadDemoCorpus(opts = {}) {
  const gatewayUrl = (opts.gatewayUrl || process.env.GATEWAY_URL || 'http://127.0.0.1:3000').replace(/\/$/, '');
  const log = opts.log || ((line) => console.log(line));
  const apiKey = opts.apiKey ?? process.env.RAGMESH_API_KEY;
  const { docs, koDevCount, koDevCorpus } = demoDocuments(opts);
  const started = Date.now();
  const failures = [];
  let chunks = 0;
  let next = 0;
  const worker = async () => {
    while (next < docs.length) {
      const doc = docs[next++];
      try {
        const body = await postDocument(gatewayUrl, doc, apiKey);
        chunks += Number(body?.data?.chunk_count ?? 0);
      } catch (err) {
        failures.push(err.message);
      }
    }
  };
  await Promise.all(Array.from({ length: UPLOAD_CONCURRENCY }, worker));
  const loaded = docs.length - failures.length;
  log(
    `demo corpus: ${loaded}/${docs.length} documents (${docs.length - koDevCount} built-in, ` +
      `${koDevCount} from ${koDevCount ? path.relative(process.cwd(), koDevCorpus) : 'ko-dev: not found, skipped'}), ` +
      `${chunks} chunks in ${((Date.now() - started) / 1000).toFixed(1)}s`,
  );
  for (const f of failures.slice(0, 5)) log(`  failed: ${f}`);
  return { loaded, total: docs.length, failures };
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--gateway') opts.gatewayUrl = argv[++i];
    else if (a === '--limit') {
      opts.koDevLimit = Number(argv[++i]);
      if (!Number.isInteger(opts.koDevLimit) || opts.koDevLimit < 0) throw new Error('--limit: expected a whole number ≥ 0');
    } else if (a === '--builtin-only') opts.builtinOnly = true;
    else throw new Error(`unknown option: ${a}`);
  }
  return opts;
}

module.exports = { loadDemoCorpus, demoDocuments };

if (require.main === module) {
  (async () => {
    const result = await loadDemoCorpus(parseArgs(process.argv.slice(2)));
    process.exit(result.failures.length === 0 ? 0 : 1);
  })().catch((err) => {
    console.error(`load-demo-corpus: ${err.message}`);
    process.exit(1);
  });
}
