#!/usr/bin/env bash
# `npm start`: prepares the machine (scripts/bootstrap.sh), starts the six services, loads the
# demo corpus and prints how to use the mesh. Ctrl-C stops the services it started;
# PostgreSQL and RabbitMQ are left running.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
# A development API key with every scope (tenant "default"), kept in .run/dev-api-key across runs;
# the gateway ensures it exists at start (RAGMESH_BOOTSTRAP_API_KEY), the demo loader sends it.
DEV_KEY_FILE=.run/dev-api-key
mkdir -p .run
[ -s "$DEV_KEY_FILE" ] || (umask 077 && node -e "console.log('rgm_dev_' + require('node:crypto').randomBytes(16).toString('hex'))" >"$DEV_KEY_FILE")
export RAGMESH_BOOTSTRAP_API_KEY="${RAGMESH_BOOTSTRAP_API_KEY:-$(cat "$DEV_KEY_FILE")}"
export RAGMESH_API_KEY="${RAGMESH_API_KEY:-$RAGMESH_BOOTSTRAP_API_KEY}"
echo "[start] development API key (every scope; also in $DEV_KEY_FILE): $RAGMESH_API_KEY"
exec node scripts/mesh.js up --demo
