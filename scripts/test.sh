#!/usr/bin/env bash
# `npm test`: prepares the machine (scripts/bootstrap.sh), then runs every check in order and
# stops at the first failure: generated code, types, lint, unit, integration, end-to-end.
# Ends with one summary line of the form "Tests: N passed, N failed[, N skipped]".
# Usage: bash scripts/test.sh [--from <step>]   (npm test -- --from test:unit)
set -uo pipefail
export LOG_TAG="test"
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$RAGMESH_ROOT" || exit 1

# --from <step>: start at that step (after the bootstrap), e.g. --from test:integration.
FROM=""
case "${1:-}" in
  --from) FROM="${2:?--from needs a step name: proto:check typecheck lint deploy:check test:unit test:integration test:e2e}" ;;
  "") ;;
  *) die "unknown option: $1 (usage: bash scripts/test.sh [--from <step>])" ;;
esac
case "$FROM" in
  ""|proto:check|typecheck|lint|deploy:check|test:unit|test:integration|test:e2e) ;;
  *) die "--from: unknown step '$FROM' (proto:check typecheck lint deploy:check test:unit test:integration test:e2e)" ;;
esac

REPORT_DIR=.run/test-reports
mkdir -p "$REPORT_DIR"
rm -f "$REPORT_DIR"/jest-*.json

STEPS=()
TIMES=()
T_ALL=$SECONDS

summary() {
  local i
  log "step timings:"
  for i in "${!STEPS[@]}"; do printf '  %-18s %s\n' "${STEPS[$i]}" "${TIMES[$i]}"; done
  log "total $((SECONDS - T_ALL))s"
  # Counts from the jest JSON reports of the suites that ran.
  node -e '
    const fs = require("node:fs"), dir = process.argv[1];
    let passed = 0, failed = 0, skipped = 0;
    const reports = fs.readdirSync(dir).filter((f) => /^jest-.*\.json$/.test(f));
    if (reports.length === 0) { console.log("no test suite ran"); process.exit(0); }
    for (const f of reports) {
      const r = JSON.parse(fs.readFileSync(`${dir}/${f}`, "utf8"));
      passed += r.numPassedTests; failed += r.numFailedTests + (r.numRuntimeErrorTestSuites || 0);
      skipped += r.numPendingTests + (r.numTodoTests || 0);
    }
    console.log(`Tests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
  ' "$REPORT_DIR"
}

# step <name> <command...>: runs it, records its time, and on failure prints the summary and exits.
step() {
  local name="$1"; shift
  local t0=$SECONDS rc=0
  if [ -n "$FROM" ] && [ "$name" != bootstrap ]; then
    if [ "$name" = "$FROM" ]; then FROM=""; else log "skipping $name (--from $FROM)"; return 0; fi
  fi
  log "━━ $name: $*"
  "$@" || rc=$?
  STEPS+=("$name"); TIMES+=("$((SECONDS - t0))s$([ $rc -ne 0 ] && echo "  FAILED (exit $rc)")")
  if [ "$rc" -ne 0 ]; then
    log "$name failed (exit $rc) after $((SECONDS - t0))s; stopping"
    summary
    exit "$rc"
  fi
  log "$name passed in $((SECONDS - t0))s"
}

# --json --outputFile keeps jest's normal output on the terminal and also writes the counts for
# the summary line. --forceExit: a handle left open by a test (a socket, a timer) must not hang
# CI after the results are in; jest still names the leak in its output.
jest_step() {
  local project="$1"
  step "test:$project" npm run --silent "test:$project" -- --ci --forceExit --json --outputFile="$REPORT_DIR/jest-$project.json"
}

step bootstrap bash scripts/bootstrap.sh
step proto:check npm run --silent proto:check
step typecheck npm run --silent typecheck
step lint npm run --silent lint
step deploy:check bash deploy/check.sh
jest_step unit
jest_step integration
jest_step e2e
summary
