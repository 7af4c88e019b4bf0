'use strict';
// The Grafana dashboards, written once here and generated into dashboards/*.json (the files
// Grafana provisions and the panel test evaluates). After an edit: node deploy/grafana/dashboards.js
// `--check` exits 1 when the committed JSON differs from what this file generates.
//
// Queries that show errors use `(errors) or 0 * (all)`: 0 on a healthy mesh, yet no data at all
// when the underlying series is missing, so the panel test still catches a metric that vanished.
const fs = require('node:fs');
const path = require('node:path');

const OUT_DIR = path.join(__dirname, 'dashboards');
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const SERVICE = 'service=~"$service"';

/** Errors by the given labels, 0 (not absent) when the base series exists but nothing failed. */
function errorsOr0(by, errorsExpr, allExpr) {
  return `sum by (${by}) (${errorsExpr}) or 0 * sum by (${by}) (${allExpr})`;
}

function q(expr, legendFormat) {
  return { expr, legendFormat };
}

function timeseries(title, targets, unit = 'short', opts = {}) {
  return { type: 'timeseries', title, targets, unit, ...opts };
}

function stat(title, targets, unit = 'short', opts = {}) {
  return { type: 'stat', title, targets, unit, ...opts };
}

function row(title) {
  return { type: 'row', title };
}

const processPanels = [
  row('Processes'),
  timeseries('Scrape targets up by job', [q('sum by (job) (up)', '{{job}}')]),
  timeseries('Resident memory', [q(`process_resident_memory_bytes{${SERVICE}}`, '{{service}} {{instance}}')], 'bytes'),
  timeseries('CPU', [q(`rate(process_cpu_seconds_total{${SERVICE}}[$__rate_interval])`, '{{service}} {{instance}}')], 'percentunit'),
  timeseries('Event loop lag p99', [q(`nodejs_eventloop_lag_p99_seconds{${SERVICE}}`, '{{service}} {{instance}}')], 's'),
];

const dbPoolPanel = timeseries(
  'PostgreSQL pool: connections in use / max, waiting queries',
  [
    q(`sum by (service, pool) (ragmesh_db_pool_connections{state="in_use", ${SERVICE}})`, '{{service}} in use'),
    q(`max by (service, pool) (ragmesh_db_pool_max_connections{${SERVICE}})`, '{{service}} max'),
    q(`sum by (service, pool) (ragmesh_db_pool_waiting_clients{${SERVICE}})`, '{{service}} waiting'),
  ],
  'short',
);

const DASHBOARDS = [
  {
    uid: 'ragmesh-overview',
    title: 'ragmesh / Overview',
    description: 'Is it healthy, is it fast, is anything stuck, is the GPU cluster saturated.',
    panels: [
      row('Health'),
      stat('Scrape targets down', [q('count(up == 0) or 0 * count(up)', 'down')], 'short', { thresholds: [1, 1] }),
      stat('Gateway 5xx ratio (5m)', [q('max(ragmesh:http_errors:ratio_rate5m)', '5xx')], 'percentunit', { thresholds: [0.01, 0.05] }),
      stat('Generation TTFT p99 (5m)', [q('max(ragmesh:generation_ttft_seconds:p99_5m)', 'p99')], 's', { thresholds: [2, 5] }),
      stat('Queue lag (all queues)', [q('sum(ragmesh:queue_lag_messages:max)', 'messages')], 'short', { thresholds: [100, 1000] }),
      stat('Dead letters', [q('sum(ragmesh:queue_dead_letters:max)', 'dead letters')], 'short', { thresholds: [1, 10] }),
      stat('Outbox backlog', [q('ragmesh:outbox_pending:max', 'rows')], 'short', { thresholds: [10, 100] }),
      row('Traffic and latency'),
      timeseries('Gateway requests / s by route', [q('sum by (route) (ragmesh:http_requests:rate1m)', '{{route}}')], 'reqps'),
      timeseries('Gateway p95 latency by route', [q('ragmesh:http_request_duration_seconds:p95_1m', '{{route}}')], 's'),
      timeseries('Gateway errors / s by status (4xx, 5xx)', [
        q(errorsOr0('status', 'ragmesh:http_requests:rate1m{status=~"[45].."}', 'ragmesh:http_requests:rate1m'), '{{status}}'),
      ], 'reqps'),
      timeseries('gRPC calls / s by service', [q(`sum by (service) (ragmesh:grpc_requests:rate1m{${SERVICE}})`, '{{service}}')], 'reqps'),
      timeseries('gRPC p95 latency by service and method', [q(`ragmesh:grpc_request_duration_seconds:p95_1m{${SERVICE}}`, '{{service}} {{method}}')], 's'),
      timeseries('Time to first token p95: gateway, proxy, vLLM', [
        q('histogram_quantile(0.95, sum by (le) (rate(ragmesh_gateway_chat_ttft_seconds_bucket[$__rate_interval])))', 'gateway'),
        q('ragmesh:generation_ttft_seconds:p95_1m', 'proxy {{upstream}}'),
        q('ragmesh:vllm_ttft_seconds:p95_1m', 'vLLM {{instance}}'),
      ], 's'),
      row('GPU upstreams'),
      timeseries('vLLM requests running / waiting', [
        q('sum by (instance) (vllm:num_requests_running)', '{{instance}} running'),
        q('sum by (instance) (vllm:num_requests_waiting)', '{{instance}} waiting'),
      ]),
      timeseries('vLLM KV-cache usage', [q('ragmesh:vllm_kv_cache_usage:ratio', '{{instance}}')], 'percentunit'),
      timeseries('Upstream breaker state (0 closed, 1 half-open, 2 open)', [
        q('max by (upstream) (ragmesh_generation_upstream_breaker_state)', '{{upstream}}'),
      ]),
      ...processPanels,
    ],
  },
  {
    uid: 'ragmesh-generation',
    title: 'ragmesh / Generation and GPU upstreams',
    description: "The proxy's view of generation beside vLLM's own metrics.",
    panels: [
      row('generation-proxy'),
      timeseries('Requests / s by engine and outcome', [q('ragmesh:generation_requests:rate1m', '{{engine}} {{outcome}}')], 'reqps'),
      timeseries('Time to first token by upstream (p50, p95)', [
        q('histogram_quantile(0.5, sum by (upstream, le) (rate(ragmesh_generation_ttft_seconds_bucket[$__rate_interval])))', 'p50 {{upstream}}'),
        q('ragmesh:generation_ttft_seconds:p95_1m', 'p95 {{upstream}}'),
      ], 's'),
      timeseries('Inter-token latency p95 by upstream', [q('ragmesh:generation_inter_token_seconds:p95_1m', '{{upstream}}')], 's'),
      timeseries('Tokens / s by upstream (prompt, completion)', [q('ragmesh:generation_tokens:rate1m', '{{upstream}} {{kind}}')], 'short'),
      timeseries('Admission: running and queued generations', [
        q('sum(ragmesh_generation_in_flight)', 'local in flight'),
        q('sum(ragmesh_generation_queue_depth)', 'local queued'),
        q('sum(ragmesh_generation_upstream_queued)', 'waiting for an upstream slot'),
      ]),
      timeseries('Wait for an upstream slot p95', [
        q('histogram_quantile(0.95, sum by (le) (rate(ragmesh_generation_queue_wait_seconds_bucket[$__rate_interval])))', 'p95'),
      ], 's'),
      timeseries('In flight per upstream', [q('sum by (upstream) (ragmesh_generation_upstream_in_flight)', '{{upstream}}')]),
      timeseries('Breaker state per upstream (0 closed, 1 half-open, 2 open)', [
        q('max by (upstream) (ragmesh_generation_upstream_breaker_state)', '{{upstream}}'),
      ]),
      timeseries('Upstream failures / s by cause', [
        q(
          errorsOr0(
            'upstream, cause',
            'rate(ragmesh_generation_upstream_errors_total[$__rate_interval])',
            'label_replace(ragmesh_generation_upstream_in_flight, "cause", "none", "", "")',
          ),
          '{{upstream}} {{cause}}',
        ),
      ], 'short'),
      timeseries('Registry probes: upstream up', [q('max by (upstream) (ragmesh_registry_upstream_up)', '{{upstream}}')]),
      row('vLLM (scraped from the upstreams)'),
      timeseries('Requests running / waiting', [
        q('sum by (instance, model_name) (vllm:num_requests_running)', '{{instance}} {{model_name}} running'),
        q('sum by (instance, model_name) (vllm:num_requests_waiting)', '{{instance}} {{model_name}} waiting'),
      ]),
      timeseries('KV-cache usage', [q('ragmesh:vllm_kv_cache_usage:ratio', '{{instance}}')], 'percentunit'),
      timeseries('Time to first token p95: vLLM beside the proxy', [
        q('ragmesh:vllm_ttft_seconds:p95_1m', 'vLLM {{instance}}'),
        q('ragmesh:generation_ttft_seconds:p95_1m{upstream!="local"}', 'proxy via {{upstream}}'),
      ], 's'),
      timeseries('Inter-token latency p95 (vLLM)', [
        q('histogram_quantile(0.95, sum by (instance, le) (rate(vllm:inter_token_latency_seconds_bucket[$__rate_interval])))', '{{instance}}'),
      ], 's'),
      timeseries('Prefix cache hit ratio', [
        q('sum by (instance) (rate(vllm:prefix_cache_hits_total[$__rate_interval])) / sum by (instance) (rate(vllm:prefix_cache_queries_total[$__rate_interval]))', '{{instance}}'),
      ], 'percentunit'),
      timeseries('Tokens / s (vLLM)', [
        q('ragmesh:vllm_generation_tokens:rate1m', '{{instance}} generated'),
        q('sum by (instance) (rate(vllm:prompt_tokens_total[$__rate_interval]))', '{{instance}} prompt'),
      ]),
      timeseries('Upstream scrape up', [q('up{job="vllm"}', '{{instance}}')]),
    ],
  },
  {
    uid: 'ragmesh-jobs-queues',
    title: 'ragmesh / Jobs and queues',
    description: 'RabbitMQ queues, dead letters, the outbox, feedback jobs and summaries.',
    panels: [
      row('Queues'),
      timeseries('Consumer lag by queue (ready + retrying)', [q('ragmesh:queue_lag_messages:max', '{{queue}}')]),
      timeseries('Dead letters by queue', [q('ragmesh:queue_dead_letters:max', '{{queue}}.dlq')]),
      timeseries('Messages handled / s by queue and outcome', [q('ragmesh:messages:rate1m', '{{queue}} {{outcome}}')], 'short'),
      timeseries('Published / s by message type', [q('sum by (type) (rate(ragmesh_messaging_published_total[$__rate_interval]))', '{{type}}')], 'short'),
      row('Outbox'),
      timeseries('Outbox backlog and publishes / s', [
        q('ragmesh:outbox_pending:max', 'pending rows'),
        q('sum by (type) (rate(ragmesh_outbox_published_total[$__rate_interval]))', 'published {{type}}'),
      ]),
      row('Feedback jobs'),
      timeseries('Feedback jobs / s by status entered', [q('sum by (status) (rate(ragmesh_feedback_jobs_total[$__rate_interval]))', '{{status}}')], 'short'),
      timeseries('Feedback job attempt duration p95 by outcome (generation + callback)', [
        q('histogram_quantile(0.95, sum by (outcome, le) (rate(ragmesh_feedback_job_attempt_duration_seconds_bucket[$__rate_interval])))', '{{outcome}}'),
      ], 's'),
      row('Summaries'),
      timeseries('Summaries / s by outcome', [q('sum by (outcome) (rate(ragmesh_summaries_total[$__rate_interval]))', '{{outcome}}')], 'short'),
      timeseries('Summary duration p95', [
        q('histogram_quantile(0.95, sum by (le) (rate(ragmesh_summarize_duration_seconds_bucket[$__rate_interval])))', 'p95'),
      ], 's'),
      row('Database'),
      dbPoolPanel,
    ],
  },
  {
    uid: 'ragmesh-retrieval',
    title: 'ragmesh / Retrieval',
    description: 'Hybrid search: latency, stages, index size, ingestion.',
    panels: [
      row('Search'),
      timeseries('Search calls / s by method and code', [
        q('sum by (method, code) (ragmesh:grpc_requests:rate1m{service="retrieval"})', '{{method}} {{code}}'),
      ], 'reqps'),
      timeseries('Search latency (p50, p95)', [
        q('histogram_quantile(0.5, sum by (le) (rate(ragmesh_retrieval_search_duration_seconds_bucket[$__rate_interval])))', 'p50'),
        q('ragmesh:retrieval_search_duration_seconds:p95_1m', 'p95'),
      ], 's'),
      timeseries('Search latency p95 by stage', [
        q('histogram_quantile(0.95, sum by (stage, le) (rate(ragmesh_retrieval_stage_duration_seconds_bucket[$__rate_interval])))', '{{stage}}'),
      ], 's'),
      timeseries('gRPC p95 latency by method (server side)', [
        q('ragmesh:grpc_request_duration_seconds:p95_1m{service="retrieval"}', '{{method}}'),
      ], 's'),
      row('Index'),
      timeseries('Index size per replica', [
        q('sum by (instance) (ragmesh_retrieval_index_documents)', '{{instance}} documents'),
        q('sum by (instance) (ragmesh_retrieval_index_chunks)', '{{instance}} chunks'),
      ]),
      timeseries('Documents ingested / deleted per s', [
        q('sum by (result) (rate(ragmesh_retrieval_documents_ingested_total[$__rate_interval]))', 'ingested {{result}}'),
        q(
          'sum(rate(ragmesh_retrieval_documents_deleted_total[$__rate_interval])) or 0 * sum(rate(ragmesh_retrieval_documents_ingested_total[$__rate_interval]))',
          'deleted',
        ),
      ], 'short'),
      timeseries('document.* events not published after commit / s', [
        q(
          'sum by (type) (rate(ragmesh_retrieval_event_publish_failures_total[$__rate_interval])) or 0 * sum(rate(ragmesh_messaging_published_total{service="retrieval"}[$__rate_interval]))',
          '{{type}}',
        ),
      ], 'short'),
    ],
  },
  {
    uid: 'ragmesh-registry',
    title: 'ragmesh / Registry and training',
    description: 'Upstreams, the fine-tuning dataset, training runs, adapters.',
    panels: [
      row('Upstreams'),
      timeseries('Upstreams up (registry probes)', [q('max by (upstream) (ragmesh_registry_upstream_up)', '{{upstream}}')]),
      timeseries('Registry gRPC calls / s', [q('sum by (method, code) (ragmesh:grpc_requests:rate1m{service="model-registry"})', '{{method}} {{code}}')], 'reqps'),
      row('Dataset and training'),
      timeseries('Accepted examples waiting for the next run', [q('max(ragmesh_registry_pending_examples)', 'pending')]),
      timeseries('Rated turns / s by outcome', [q('sum by (outcome) (rate(ragmesh_registry_examples_total[$__rate_interval]))', '{{outcome}}')], 'short'),
      timeseries('Training runs by outcome (1h)', [q('sum by (outcome) (increase(ragmesh_registry_training_runs_total[1h]))', '{{outcome}}')]),
      timeseries('Training run duration p50 by outcome', [
        q('histogram_quantile(0.5, sum by (outcome, le) (rate(ragmesh_registry_training_duration_seconds_bucket[1h])))', '{{outcome}}'),
      ], 's'),
      timeseries('Time since the last adapter promotion', [q('max(ragmesh_registry_time_since_last_promotion_seconds)', 'since promotion')], 's'),
      timeseries('Webhook deliveries (1h) by outcome', [q('sum by (outcome) (increase(ragmesh_registry_webhook_deliveries_total[1h]))', '{{outcome}}')]),
    ],
  },
];

/** Grafana's 24-column grid: rows span it, panels fill it left to right (stats 4 wide, graphs 8). */
function layout(panels) {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  let id = 1;
  const newLine = () => {
    y += rowHeight;
    x = 0;
    rowHeight = 0;
  };
  return panels.map((panel) => {
    if (panel.type === 'row') {
      newLine();
      const out = { id: id++, type: 'row', title: panel.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] };
      y += 1;
      return out;
    }
    const width = panel.type === 'stat' ? 4 : 8;
    const height = panel.type === 'stat' ? 4 : 8;
    if (x + width > 24) newLine();
    const out = toGrafana(panel, id++, { h: height, w: width, x, y });
    x += width;
    rowHeight = Math.max(rowHeight, height);
    return out;
  });
}

function toGrafana(panel, id, gridPos) {
  // thresholds: [orange from, red from]; a value at or above each turns the stat that colour.
  const thresholds = panel.thresholds
    ? {
        mode: 'absolute',
        steps: [
          { color: 'green', value: null },
          { color: 'orange', value: panel.thresholds[0] },
          { color: 'red', value: panel.thresholds[1] },
        ],
      }
    : { mode: 'absolute', steps: [{ color: 'green', value: null }] };
  return {
    id,
    type: panel.type,
    title: panel.title,
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: {
      defaults: { unit: panel.unit, thresholds, ...(panel.type === 'timeseries' ? { custom: { lineWidth: 1, fillOpacity: 10 } } : {}) },
      overrides: [],
    },
    options:
      panel.type === 'stat'
        ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', graphMode: 'area' }
        : { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
    targets: panel.targets.map((t, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DATASOURCE,
      expr: t.expr,
      legendFormat: t.legendFormat,
      range: true,
    })),
  };
}

function templating() {
  return {
    list: [
      { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: { text: 'Prometheus', value: 'prometheus' }, hide: 0 },
      {
        name: 'service',
        label: 'Service',
        type: 'query',
        datasource: DATASOURCE,
        query: { query: 'label_values(process_cpu_user_seconds_total, service)', refId: 'service' },
        definition: 'label_values(process_cpu_user_seconds_total, service)',
        includeAll: true,
        multi: true,
        allValue: '.*',
        refresh: 2,
        sort: 1,
        current: { text: 'All', value: '$__all' },
        hide: 0,
      },
    ],
  };
}

function build(def) {
  const links = DASHBOARDS.filter((d) => d.uid !== def.uid).map((d) => ({ title: d.title, type: 'link', url: `/d/${d.uid}`, icon: 'dashboard' }));
  return {
    uid: def.uid,
    title: def.title,
    description: def.description,
    tags: ['ragmesh'],
    editable: false,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    timezone: 'utc',
    links,
    templating: templating(),
    panels: layout(def.panels),
  };
}

function render() {
  return DASHBOARDS.map((def) => ({ file: path.join(OUT_DIR, `${def.uid}.json`), text: `${JSON.stringify(build(def), null, 2)}\n` }));
}

function main() {
  const check = process.argv.includes('--check');
  const stale = [];
  for (const { file, text } of render()) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (current === text) continue;
    if (check) stale.push(path.relative(process.cwd(), file));
    else fs.writeFileSync(file, text);
  }
  const known = new Set(DASHBOARDS.map((d) => `${d.uid}.json`));
  const strays = fs.readdirSync(OUT_DIR).filter((f) => f.endsWith('.json') && !known.has(f));
  if (check && (stale.length > 0 || strays.length > 0)) {
    console.error(`dashboards out of date (run node deploy/grafana/dashboards.js): ${[...stale, ...strays].join(', ')}`);
    process.exit(1);
  }
  for (const f of strays) fs.unlinkSync(path.join(OUT_DIR, f));
}

if (require.main === module) main();

module.exports = { DASHBOARDS, build };
