// Integration tests get a database and a RabbitMQ vhost of their own, made anew each run, so
// they neither see nor disturb a mesh started by `npm start` (its consumers would take the
// tests' messages, and its queues, declared with other retry delays, would clash).
const { execFileSync } = require('node:child_process');
const { Client } = require('pg');

const BASE_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh';
const BASE_AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
// RAGMESH_IT_NAME lets two checkouts on one machine run their integration tiers side by side.
const NAME = process.env.RAGMESH_IT_NAME ?? 'ragmesh_it';

async function recreateDatabase() {
  const admin = new URL(BASE_DATABASE_URL);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${NAME}`);
  } finally {
    await client.end();
  }
  const url = new URL(BASE_DATABASE_URL);
  url.pathname = `/${NAME}`;
  return url.toString();
}

function recreateVhost() {
  const rabbitmqctl = (...args) => execFileSync('rabbitmqctl', args, { stdio: 'ignore', timeout: 30_000 });
  try {
    try {
      rabbitmqctl('delete_vhost', NAME);
    } catch {
      // not there yet
    }
    rabbitmqctl('add_vhost', NAME);
    rabbitmqctl('set_permissions', '-p', NAME, new URL(BASE_AMQP_URL).username || 'guest', '.*', '.*', '.*');
    return `${BASE_AMQP_URL.replace(/\/+$/, '')}/${NAME}`;
  } catch (err) {
    console.warn(`[integration] rabbitmqctl unavailable (${err.message.split('\n')[0]}); using the broker's default vhost`);
    return BASE_AMQP_URL;
  }
}

module.exports = async () => {
  process.env.DATABASE_URL = await recreateDatabase();
  process.env.AMQP_URL = recreateVhost();
};
