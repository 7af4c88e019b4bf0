#!/usr/bin/env bash
# Regenerates libs/contracts/src/generated from proto/ with ts-proto (nestJs=true), via buf.
# --check: regenerate into a temporary folder and fail when it differs from what is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=libs/contracts/src/generated
if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp -d)
  sed "s#out: $out#out: $tmp#" buf.gen.yaml > "$tmp/buf.gen.yaml"
  npx --no-install buf generate --template "$tmp/buf.gen.yaml"
  rm "$tmp/buf.gen.yaml"
  if ! diff -r "$tmp" "$out" >/dev/null; then
    diff -r "$tmp" "$out" | head -40
    echo "proto:check: generated code in $out is stale; run npm run proto and commit" >&2
    exit 1
  fi
  echo "proto:check: generated code is current"
  rm -rf "$tmp"
  exit 0
fi
rm -rf "$out"
npx --no-install buf generate
echo "generated $out"
