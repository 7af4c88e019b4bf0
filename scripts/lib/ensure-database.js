// Makes sure the database named in DATABASE_URL exists and accepts the URL's credentials.
// Exit codes tell bootstrap.sh what to fix: 0 ok, 3 authentication failed, 1 anything else.
const { Client } = require('pg');

const EXIT_AUTH_FAILED = 3;
const PG_INVALID_PASSWORD = '28P01';
const PG_INVALID_AUTHORIZATION = '28000';
const PG_UNKNOWN_DATABASE = '3D000';
const CONNECT_TIMEOUT_MS = 5000;

async function tryConnect(url) {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  await client.connect();
  return client;
}

async function main() {
  const url = process.argv[2] || process.env.DATABASE_URL;
  if (!url) throw new Error('usage: ensure-database.js <postgres url>');
  const target = new URL(url);
  const dbName = decodeURIComponent(target.pathname.replace(/^\//, '')) || 'postgres';
  try {
    const client = await tryConnect(url);
    await client.end();
    console.log(`database "${dbName}" is reachable`);
    return;
  } catch (err) {
    if (err.code === PG_INVALID_PASSWORD || err.code === PG_INVALID_AUTHORIZATION) {
      console.error(`authentication failed for user "${decodeURIComponent(target.username)}": ${err.message}`);
      process.exit(EXIT_AUTH_FAILED);
    }
    if (err.code !== PG_UNKNOWN_DATABASE) throw err;
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = await tryConnect(admin.toString());
  try {
    // Identifier quoting: the name comes from configuration, not from users, but quote it anyway.
    await client.query(`CREATE DATABASE "${dbName.replace(/"/g, '""')}"`);
    console.log(`created database "${dbName}"`);
  } catch (err) {
    // Another bootstrap may have created it between our two connections.
    if (err.code !== '42P04') throw err;
    console.log(`database "${dbName}" exists`);
  } finally {
    await client.end();
  }
}

main().catch((err) => {
  console.error(`ensure-database: ${err.message}`);
  process.exit(1);
});
