'use strict';
require('../lib/register-ts');
const MiniSearch = require('minisearch');
const orama = require('@orama/orama');
const { Index: FlexIndex } = require('flexsearch');
const winkBm25 = require('wink-bm25-text-search');
const winkNLP = require('wink-nlp');
const winkModel = require('wink-eng-lite-web-model');
const { searchTokens } = require('@ragmesh/text');

/** What a peer's index sees of a ko-dev document (title is empty in ko-dev, kept for other sets). */
const docText = (doc) => (doc.title === '' ? doc.text : `${doc.title}\n${doc.text}`);

// Each builder gets the docs and, when given, ragmesh's tokenizer; everything else is the
// library's default. Each returns search(question, k) → doc ids best first.

async function buildMiniSearch(docs, tokenizer) {
  const options = { fields: ['text'], idField: 'id' };
  if (tokenizer) options.tokenize = tokenizer;
  const index = new MiniSearch(options);
  index.addAll(docs.map((d) => ({ id: d.id, text: docText(d) })));
  return (q, k) => index.search(q).slice(0, k).map((r) => r.id);
}

async function buildOrama(docs, tokenizer) {
  const options = { schema: { text: 'string' } };
  if (tokenizer) {
    options.components = { tokenizer: { language: 'english', normalizationCache: new Map(), tokenize: (raw) => tokenizer(raw) } };
  }
  const db = orama.create(options);
  for (const d of docs) orama.insert(db, { id: d.id, text: docText(d) });
  return (q, k) => orama.search(db, { term: q, limit: k }).hits.map((h) => h.id);
}

async function buildFlexSearch(docs, tokenizer) {
  const options = {};
  if (tokenizer) options.encode = tokenizer;
  const index = new FlexIndex(options);
  for (const d of docs) index.add(d.id, docText(d));
  return (q, k) => index.search(q, k);
}

// wink-bm25-text-search has no built-in tokenizer: "default" is the pipeline its README uses
// (wink-nlp's English web model: words, no stop words, stems).
function winkDefaultTokenizer() {
  const nlp = winkNLP(winkModel);
  const its = nlp.its;
  return (text) => {
    const tokens = [];
    nlp
      .readDoc(text)
      .tokens()
      .filter((t) => t.out(its.type) === 'word' && !t.out(its.stopWordFlag))
      .each((t) => tokens.push(t.out(its.negationFlag) ? `!${t.out(its.stem)}` : t.out(its.stem)));
    return tokens;
  };
}

async function buildWink(docs, tokenizer) {
  const engine = winkBm25();
  engine.defineConfig({ fldWeights: { text: 1 } });
  engine.definePrepTasks([tokenizer ?? winkDefaultTokenizer()]);
  docs.forEach((d) => engine.addDoc({ text: docText(d) }, d.id));
  engine.consolidate();
  return (q, k) => engine.search(q, k).map(([id]) => id);
}

const PEERS = [
  ['minisearch', buildMiniSearch],
  ['@orama/orama', buildOrama],
  ['flexsearch', buildFlexSearch],
  ['wink-bm25-text-search', buildWink],
];

/** Every peer twice: its defaults, and fed ragmesh's Korean tokenizer (its strongest form). */
function peerRuns(docs) {
  const runs = [];
  for (const [name, build] of PEERS) {
    runs.push({ name, variant: 'default', build: () => build(docs, undefined) });
    runs.push({ name, variant: 'ragmesh-tokenizer', build: () => build(docs, searchTokens) });
  }
  return runs;
}

module.exports = { peerRuns, PEERS };
