'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { ROOT } = require('../lib/register-ts');

// The data set lives beside the repository (../shared/data/ko-dev), never inside it.
const DEFAULT_DATASET_DIR = path.resolve(ROOT, '..', 'shared', 'data', 'ko-dev');

function readJsonLines(file) {
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

/** Loads ko-dev ({id,title,text} docs and {id,question,gold_ids} queries); a clear error when it is missing. */
function loadKoDev(dir = process.env.KO_DEV_DIR || DEFAULT_DATASET_DIR) {
  const corpusFile = path.join(dir, 'corpus.jsonl');
  const queriesFile = path.join(dir, 'queries.jsonl');
  for (const file of [corpusFile, queriesFile]) {
    if (!fs.existsSync(file)) {
      throw new Error(
        `bench:retrieval needs the ko-dev set: ${file} not found. ` +
          `Expected the shared data beside the repository (../shared/data/ko-dev) or KO_DEV_DIR pointing at it.`,
      );
    }
  }
  const docs = readJsonLines(corpusFile).map((d) => ({ id: String(d.id), title: String(d.title || ''), text: String(d.text) }));
  const queries = readJsonLines(queriesFile).map((q) => ({ id: String(q.id), question: String(q.question), goldIds: q.gold_ids.map(String) }));
  return { dir, docs, queries };
}

module.exports = { loadKoDev, DEFAULT_DATASET_DIR };
