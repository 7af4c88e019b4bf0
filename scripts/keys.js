#!/usr/bin/env node
// `npm run keys -- <create|list|revoke> …`: manages the gateway's API keys straight in PostgreSQL
// (DATABASE_URL) through the compiled gateway (`main.js keys …`); builds dist/ first when missing.
//
//   npm run keys -- create --name backend --scopes chat,feedback [--tenant acme] [--expires 2027-01-31T00:00:00Z]
//   npm run keys -- list [--tenant acme]
//   npm run keys -- revoke <key id>
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DIST = path.resolve(ROOT, process.env.RAGMESH_DIST || 'dist');
const MAIN = path.join(DIST, 'apps', 'gateway', 'src', 'main.js');

if (!fs.existsSync(MAIN)) {
  console.error(`[keys] ${path.relative(ROOT, MAIN)} not found; building it (tsc -p tsconfig.build.json)`);
  const built = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', DIST], { cwd: ROOT, stdio: 'inherit' });
  if (!fs.existsSync(MAIN)) process.exit(built.status || 1);
}
const run = spawnSync(process.execPath, ['-r', path.join(ROOT, 'scripts', 'register-paths.js'), MAIN, 'keys', ...process.argv.slice(2)], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL || 'warn' },
});
process.exit(run.status ?? 1);
