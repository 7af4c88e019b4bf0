# shellcheck shell=bash
# Shared helpers for the bootstrap/start/test scripts (sourced, not executed).

RAGMESH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export RAGMESH_ROOT

_tag() { printf '[%s]' "${LOG_TAG:-ragmesh}"; }
log() { printf '%s %s\n' "$(_tag)" "$*"; }
warn() { printf '%s WARNING: %s\n' "$(_tag)" "$*" >&2; }
die() { printf '%s ERROR: %s\n' "$(_tag)" "$*" >&2; exit 1; }

# True when host:port accepts a TCP connection within 2 seconds.
port_open() {
  local host="$1" port="$2"
  timeout 2 bash -c "exec 3<>/dev/tcp/${host}/${port}" 2>/dev/null
}

# True for addresses this machine may install and start servers for.
is_local_host() {
  case "$1" in
    127.*|localhost|::1|'[::1]'|'') return 0 ;;
    *) return 1 ;;
  esac
}

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@";
  elif command -v sudo >/dev/null 2>&1; then sudo "$@";
  else die "need root (or sudo) to run: $*"; fi
}

# Runs a command as the postgres OS user.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    if command -v runuser >/dev/null 2>&1; then runuser -u postgres -- "$@";
    else su postgres -s /bin/bash -c "$(printf '%q ' "$@")"; fi
  elif command -v sudo >/dev/null 2>&1; then sudo -u postgres "$@";
  else die "need root (or sudo) to act as the postgres user: $*"; fi
}

# Polls a predicate until it succeeds or the timeout (seconds) passes.
wait_until() {
  local timeout_s="$1"; shift
  local deadline=$((SECONDS + timeout_s))
  until "$@"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 1
  done
}

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* yourself (this script supports Debian/Ubuntu)"
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}
