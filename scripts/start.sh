#!/usr/bin/env bash
# `npm start`: prepares the machine (scripts/bootstrap.sh), starts the six services, loads the
# demo corpus and prints how to use the mesh. Ctrl-C stops the services it started;
# PostgreSQL and RabbitMQ are left running.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
exec node scripts/mesh.js up --demo
