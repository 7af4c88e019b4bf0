#!/usr/bin/env bash
# Brings a Debian machine (root or sudo, Node 20) to the point where the mesh can run:
# npm dependencies, PostgreSQL, RabbitMQ, the compiled dist/ tree and every service's migrations.
# Idempotent: each step checks first and does only what is missing. Servers that already run
# are used as they are (never stopped, restarted or reconfigured).
#
# Usage: bash scripts/bootstrap.sh [--servers-only] [--skip-build] [--skip-migrate]
# Env:   DATABASE_URL (postgres://postgres:postgres@127.0.0.1:5432/ragmesh)
#        AMQP_URL     (amqp://guest:guest@127.0.0.1:5672)
#        BOOTSTRAP_DRY_RUN=1   print the install/start commands instead of running them
#        BOOTSTRAP_WAIT_SECONDS (120) how long to wait for a server to accept connections
#        PG_CLUSTER (main)    the Debian PostgreSQL cluster to create/start when none answers
set -euo pipefail
export LOG_TAG=bootstrap
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$RAGMESH_ROOT"

export DATABASE_URL="${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/ragmesh}"
export AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672}"
WAIT_SECONDS="${BOOTSTRAP_WAIT_SECONDS:-120}"
DRY_RUN="${BOOTSTRAP_DRY_RUN:-0}"
PG_CLUSTER="${PG_CLUSTER:-main}"
# Services that own tables (generation-proxy owns none).
MIGRATING_SERVICES=(gateway retrieval model-registry summarizer feedback-worker)

DO_BUILD=1; DO_MIGRATE=1
for arg in "$@"; do
  case "$arg" in
    --servers-only) DO_BUILD=0; DO_MIGRATE=0 ;;
    --skip-build) DO_BUILD=0 ;;
    --skip-migrate) DO_MIGRATE=0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown option: $arg" ;;
  esac
done

# Runs a state-changing command, or only prints it in dry-run mode.
act() {
  if [ "$DRY_RUN" = "1" ]; then log "dry-run: would run: $*"; return 0; fi
  "$@"
}

# host, port, user, password of a URL (scheme's default port, user postgres when absent),
# separated by \x1f so that empty fields and spaces in a password survive `read`.
url_parts() {
  node -e '
    const u = new URL(process.argv[1]);
    const port = u.port || process.argv[2];
    const host = u.hostname.replace(/^\[|\]$/g, "");
    const user = decodeURIComponent(u.username) || "postgres";
    console.log([host || "127.0.0.1", port, user, decodeURIComponent(u.password)].join("\x1f"));
  ' "$1" "$2" || die "cannot parse URL: $1"
}

step_deps() {
  if [ -f package-lock.json ]; then
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      log "dependencies: installing (npm ci)"
      # npm 11 with omit-lockfile-registry-resolved (set on some machines) writes a lock that
      # lacks other platforms' optional binaries (@swc/core-*, @bufbuild/buf-*), and then
      # refuses it in `npm ci`; `npm install` honours the same lock without that check.
      npm ci --no-audit --no-fund || {
        log "dependencies: npm ci refused the lock; installing with npm install"
        npm install --no-audit --no-fund
      }
    else
      log "dependencies: up to date"
    fi
  elif [ ! -d node_modules ] || [ package.json -nt node_modules ]; then
    log "dependencies: installing (npm install; no package-lock.json)"
    npm install --no-audit --no-fund
  else
    log "dependencies: up to date"
  fi
}

pg_ready() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2
  else
    port_open "$PG_HOST" "$PG_PORT"
  fi
}

# Newest installed major version of the PostgreSQL server, empty when none.
pg_installed_version() {
  local v
  v=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)
  if [ -n "$v" ] && [ -x "/usr/lib/postgresql/$v/bin/postgres" ]; then echo "$v"; fi
}

start_local_postgres() {
  if [ -z "$(pg_installed_version)" ] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "postgres: not installed; installing the Debian package"
    act apt_install postgresql
    # The package's post-install creates 'main' and may have started it already.
    if [ "$DRY_RUN" != "1" ] && wait_until 5 pg_ready; then log "postgres: started by the package"; return 0; fi
  fi
  local version cluster_port status
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$version" ] || [ ! -d "/etc/postgresql/$version/$PG_CLUSTER" ]; then
    version=$(pg_installed_version)
    [ -n "$version" ] || { [ "$DRY_RUN" = "1" ] && version=NN; } || die "postgres: no server binaries after install"
    log "postgres: creating cluster $version/$PG_CLUSTER on port $PG_PORT"
    act as_root pg_createcluster "$version" "$PG_CLUSTER" --port "$PG_PORT"
  fi
  # pg_lsclusters -h: "<ver> <cluster> <port> <online|down> <owner> <datadir> <logfile>"
  read -r _ _ cluster_port status _ < <(pg_lsclusters -h 2>/dev/null | awk -v v="$version" -v c="$PG_CLUSTER" '$1 == v && $2 == c') || true
  if [ -n "${cluster_port:-}" ] && [ "$cluster_port" != "$PG_PORT" ]; then
    die "postgres: cluster $version/$PG_CLUSTER is configured for port $cluster_port but DATABASE_URL uses port $PG_PORT; set DATABASE_URL to match (not reconfiguring an existing cluster)"
  fi
  if [ "${status:-}" = "online" ]; then
    # It may still be finishing its start-up.
    if wait_until 10 pg_ready; then log "postgres: running on $PG_HOST:$PG_PORT"; return 0; fi
    die "postgres: cluster $version/$PG_CLUSTER is online but $PG_HOST:$PG_PORT does not answer; check its listen_addresses"
  fi
  log "postgres: starting cluster $version/$PG_CLUSTER"
  act as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$PG_CLUSTER" start
  [ "$DRY_RUN" = "1" ] && return 0
  wait_until "$WAIT_SECONDS" pg_ready || die "postgres: did not accept connections on $PG_HOST:$PG_PORT within ${WAIT_SECONDS}s (see /var/log/postgresql/)"
  log "postgres: started on $PG_HOST:$PG_PORT"
}

# Gives the URL's role the URL's password over the local socket (peer auth as the postgres OS
# user), so password authentication works on a stock Debian install (scram for 127.0.0.1).
set_local_password() {
  local sql
  sql=$(cat <<SQL
DO \$\$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${PG_USER//\'/\'\'}') THEN
    EXECUTE format('ALTER ROLE %I WITH LOGIN PASSWORD %L', '${PG_USER//\'/\'\'}', '${PG_PASSWORD//\'/\'\'}');
  ELSE
    EXECUTE format('CREATE ROLE %I WITH LOGIN SUPERUSER PASSWORD %L', '${PG_USER//\'/\'\'}', '${PG_PASSWORD//\'/\'\'}');
  END IF;
END \$\$;
SQL
)
  # cd /: the postgres user may not be allowed into the repository folder.
  (cd / && act as_postgres psql -q -X -p "$PG_PORT" -d postgres -v ON_ERROR_STOP=1 -c "$sql")
}

step_postgres() {
  IFS=$'\x1f' read -r PG_HOST PG_PORT PG_USER PG_PASSWORD < <(url_parts "$DATABASE_URL" 5432)
  if pg_ready; then
    log "postgres: running on $PG_HOST:$PG_PORT"
  elif ! is_local_host "$PG_HOST"; then
    log "postgres: waiting for remote $PG_HOST:$PG_PORT (not installing: DATABASE_URL is not local)"
    wait_until "$WAIT_SECONDS" pg_ready || die "postgres: $PG_HOST:$PG_PORT did not accept connections within ${WAIT_SECONDS}s"
  else
    log "postgres: nothing answers on $PG_HOST:$PG_PORT"
    start_local_postgres
  fi
  [ "$DRY_RUN" = "1" ] && ! pg_ready && { log "dry-run: would ensure role and database"; return 0; }
  local rc=0 errlog=.run/logs/ensure-database.log
  node scripts/lib/ensure-database.js "$DATABASE_URL" >"$errlog" 2>&1 || rc=$?
  if [ "$rc" -eq 3 ] && is_local_host "$PG_HOST"; then
    log "postgres: setting the password of role \"$PG_USER\" from DATABASE_URL"
    set_local_password
    rc=0
    node scripts/lib/ensure-database.js "$DATABASE_URL" >"$errlog" 2>&1 || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then
    cat "$errlog" >&2
    die "postgres: cannot use the database in DATABASE_URL"
  fi
  log "postgres: database ready ($(node -e 'const u=new URL(process.argv[1]);u.password&&(u.password="***");console.log(u.toString())' "$DATABASE_URL"))"
}

amqp_ready() { port_open "$MQ_HOST" "$MQ_PORT"; }

start_local_rabbitmq() {
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    log "rabbitmq: not installed; installing the Debian package"
    act apt_install rabbitmq-server
    # The package's post-install may have started it already.
    if [ "$DRY_RUN" != "1" ] && wait_until 10 amqp_ready; then log "rabbitmq: started by the package"; return 0; fi
  fi
  log "rabbitmq: starting (rabbitmq-server -detached)"
  act as_root rabbitmq-server -detached
  [ "$DRY_RUN" = "1" ] && { log "dry-run: would run: rabbitmqctl await_startup"; return 0; }
  # await_startup fails at once while the node is still booting its Erlang VM, so retry it.
  wait_until "$WAIT_SECONDS" as_root timeout 30 rabbitmqctl -q await_startup >/dev/null 2>&1 \
    || die "rabbitmq: did not start within ${WAIT_SECONDS}s (see /var/log/rabbitmq/)"
  wait_until 30 amqp_ready || die "rabbitmq: started but $MQ_HOST:$MQ_PORT does not answer"
  log "rabbitmq: started on $MQ_HOST:$MQ_PORT"
}

step_rabbitmq() {
  IFS=$'\x1f' read -r MQ_HOST MQ_PORT _ _ < <(url_parts "$AMQP_URL" 5672)
  if amqp_ready; then
    log "rabbitmq: running on $MQ_HOST:$MQ_PORT"
  elif ! is_local_host "$MQ_HOST"; then
    log "rabbitmq: waiting for remote $MQ_HOST:$MQ_PORT (not installing: AMQP_URL is not local)"
    wait_until "$WAIT_SECONDS" amqp_ready || die "rabbitmq: $MQ_HOST:$MQ_PORT did not accept connections within ${WAIT_SECONDS}s"
  else
    log "rabbitmq: nothing answers on $MQ_HOST:$MQ_PORT"
    start_local_rabbitmq
  fi
}

step_build() {
  local t0=$SECONDS
  log "build: tsc -p tsconfig.build.json"
  node node_modules/typescript/bin/tsc -p tsconfig.build.json || die "build failed (see the TypeScript errors above)"
  log "build: done in $((SECONDS - t0))s"
}

step_migrate() {
  local svc main
  for svc in "${MIGRATING_SERVICES[@]}"; do
    main="dist/apps/$svc/src/main.js"
    [ -f "$main" ] || die "migrate: $main not found (did the build include apps/$svc?)"
    node -r ./scripts/register-paths.js "$main" migrate >".run/logs/migrate-$svc.log" 2>&1 \
      || { tail -n 30 ".run/logs/migrate-$svc.log" >&2; die "migrate: $svc failed (log: .run/logs/migrate-$svc.log)"; }
    log "migrate: $svc up to date"
  done
}

# Prometheus (server + promtool) for the deploy checks and the dashboard panel test; not started.
step_prometheus() {
  if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then log "prometheus: installed"; return 0; fi
  log "prometheus: not installed; installing the Debian package (not started)"
  act apt_install --no-install-recommends prometheus
}

mkdir -p .run/logs
T0=$SECONDS
# Dependencies come first even with --servers-only: the database check uses the pg module.
step_deps
step_postgres
step_rabbitmq
step_prometheus
[ "$DO_BUILD" = 1 ] && step_build
[ "$DO_MIGRATE" = 1 ] && step_migrate
log "ready in $((SECONDS - T0))s"
