'use strict';
// Reads the provisioned dashboards and evaluates their panels' queries against a Prometheus,
// the way Grafana would with every template variable at its default ("All"). Used by the panel
// test (test/e2e/ops-dashboards.e2e-spec.ts) and the PNG renderer (render.js).
const fs = require('node:fs');
const path = require('node:path');

const DASHBOARD_DIR = path.join(__dirname, 'dashboards');

/** Grafana's built-in interval variables, fixed to what a short test run can fill. */
const DEFAULT_VARIABLES = { __rate_interval: '1m', __interval: '15s', __range: '5m' };

function loadDashboards(dir = DASHBOARD_DIR) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
}

/** The value each template variable has when the dashboard opens ("All" → its allValue). */
function variableValues(dashboard) {
  const values = { ...DEFAULT_VARIABLES };
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type === 'datasource') continue;
    const current = v.current?.value;
    const all = current === '$__all' || (Array.isArray(current) && current.includes('$__all'));
    values[v.name] = all ? (v.allValue ?? '.*') : String(current ?? '.*');
  }
  return values;
}

/** Replaces $name, ${name} and [[name]] as Grafana does; an unknown variable is an error. */
function substitute(expr, values) {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (match, a, b, c) => {
    const name = a ?? b ?? c;
    if (!(name in values)) throw new Error(`unknown template variable ${match} in: ${expr}`);
    return values[name];
  });
}

/** Every query of every non-row panel: { dashboard, panel, refId, expr, legendFormat, gridPos, type, unit }. */
function panelQueries(dashboards = loadDashboards()) {
  const out = [];
  for (const dashboard of dashboards) {
    const values = variableValues(dashboard);
    for (const panel of dashboard.panels ?? []) {
      if (panel.type === 'row') continue;
      for (const target of panel.targets ?? []) {
        out.push({
          dashboard: dashboard.uid,
          panel: panel.title,
          refId: target.refId,
          expr: substitute(target.expr, values),
          legendFormat: target.legendFormat ?? '',
        });
      }
    }
  }
  return out;
}

async function prometheusGet(baseUrl, apiPath, params) {
  const url = new URL(apiPath, baseUrl);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
  const res = await fetch(url);
  const body = await res.json();
  if (body.status !== 'success') throw new Error(`${apiPath} ${params.query}: ${body.errorType}: ${body.error}`);
  return body.data;
}

/** Instant query: the result vector (possibly empty). */
async function instantQuery(baseUrl, expr, time) {
  const data = await prometheusGet(baseUrl, '/api/v1/query', time === undefined ? { query: expr } : { query: expr, time });
  return data.result;
}

/** Range query: one { metric, values: [[t, "v"], …] } per series. */
async function rangeQuery(baseUrl, expr, start, end, step) {
  const data = await prometheusGet(baseUrl, '/api/v1/query_range', { query: expr, start, end, step });
  return data.result;
}

/** "{{route}} {{status}}" with the series' labels, as Grafana fills a legend. */
function legendOf(legendFormat, metric) {
  if (!legendFormat) return Object.entries(metric).map(([k, v]) => `${k}=${v}`).join(', ') || 'value';
  return legendFormat.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name) => metric[name] ?? '');
}

module.exports = { DASHBOARD_DIR, loadDashboards, variableValues, substitute, panelQueries, instantQuery, rangeQuery, legendOf };
