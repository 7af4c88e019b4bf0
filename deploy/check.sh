#!/usr/bin/env bash
# Checks everything under deploy/ offline (run by `npm test` as the deploy:check step):
# promtool check config / check rules / test rules (a unit test per alert), the Grafana JSON in
# sync with deploy/grafana/dashboards.js, and the Kubernetes, compose and Ray Serve files
# against their schemas (deploy/check-manifests.mjs). Needs promtool (Debian's prometheus
# package; scripts/bootstrap.sh installs it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v promtool >/dev/null 2>&1 || { echo "promtool not found: apt-get install prometheus (scripts/bootstrap.sh does)" >&2; exit 1; }

passed=0
failed=0
check() {
  local name="$1"; shift
  local out
  if out=$("$@" 2>&1); then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name"; echo "$out" | sed 's/^/     /'
  fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The Kubernetes Prometheus config lives inside a ConfigMap; promtool reads it from a file.
# Debian builds Prometheus without Kubernetes service discovery, so its promtool refuses
# kubernetes_sd_configs: the copy checked swaps it for file_sd_configs, and everything else
# (relabelling, regexes, rule globs) is checked as written.
node -e '
  const { parse, parseAllDocuments, stringify } = require("yaml");
  const fs = require("node:fs");
  const doc = parseAllDocuments(fs.readFileSync("deploy/k8s/monitoring.yaml", "utf8")).map((d) => d.toJSON())
    .find((d) => d && d.kind === "ConfigMap" && d.metadata.name === "prometheus-config");
  const config = parse(doc.data["prometheus.yml"]);
  for (const job of config.scrape_configs) {
    if (job.kubernetes_sd_configs) { delete job.kubernetes_sd_configs; job.file_sd_configs = [{ files: ["targets/*.json"] }]; }
  }
  fs.writeFileSync(process.argv[1], stringify(config));
' "$tmp/k8s-prometheus.yml"

check "promtool check config deploy/prometheus/prometheus.yml" promtool check config deploy/prometheus/prometheus.yml
check "promtool check config deploy/k8s/monitoring.yaml (prometheus.yml)" promtool check config --syntax-only "$tmp/k8s-prometheus.yml"
check "promtool check rules deploy/prometheus/rules/*.yml" promtool check rules deploy/prometheus/rules/recording.yml deploy/prometheus/rules/alerts.yml
check "promtool test rules deploy/prometheus/tests/alerts.test.yml" promtool test rules deploy/prometheus/tests/alerts.test.yml
check "every alert has a unit test" node -e '
  const { parse } = require("yaml");
  const fs = require("node:fs");
  const alerts = parse(fs.readFileSync("deploy/prometheus/rules/alerts.yml", "utf8")).groups.flatMap((g) => g.rules).map((r) => r.alert).filter(Boolean);
  const tests = parse(fs.readFileSync("deploy/prometheus/tests/alerts.test.yml", "utf8")).tests;
  const firing = new Set(tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => (a.exp_alerts ?? []).length > 0).map((a) => a.alertname)));
  const missing = alerts.filter((a) => !firing.has(a));
  if (missing.length) { console.error("alerts without a firing test: " + missing.join(", ")); process.exit(1); }
'
check "grafana dashboards in sync with deploy/grafana/dashboards.js" node deploy/grafana/dashboards.js --check
check "k8s, compose and Ray Serve files against their schemas" node deploy/check-manifests.mjs

echo "deploy checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
