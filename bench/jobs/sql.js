'use strict';
// SQL work per job, from PostgreSQL's own counters: committed + rolled-back transactions of the
// mesh's database (every statement outside an explicit transaction is one). Unlike CPU time it
// does not move with the machine's load, so it shows a change in the job path's design directly.
const { Client } = require('pg');

/** A busy backend flushes its counters at most once a second, an idle one within 10 s (PostgreSQL 15+). */
const STATS_FLUSH_MS = 11_000;

async function sqlTransactions(databaseUrl) {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()');
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}

module.exports = { sqlTransactions, STATS_FLUSH_MS };
