'use strict';
// Draws the provisioned dashboards to PNG from a running Prometheus, for people without Grafana:
// every panel's queries are evaluated over the last N minutes (query_range) and drawn as SVG
// (time series as lines with a legend, stats as their last value coloured by threshold), laid
// out by the panels' gridPos, and converted to PNG by resvg (a Rust renderer shipped as an npm
// binary; no system library).
//
//   node deploy/grafana/render.js --prometheus http://127.0.0.1:9090 [--out docs/dashboards] [--minutes 15]
const fs = require('node:fs');
const path = require('node:path');
const { loadDashboards, variableValues, substitute, rangeQuery, legendOf } = require('./panels');

const WIDTH = 1600;
const COLUMN = WIDTH / 24;
const ROW_HEIGHT = 34;
const PAD = 8;
const PALETTE = ['#7eb26d', '#eab839', '#6ed0e0', '#ef843c', '#e24d42', '#1f78c1', '#ba43a9', '#705da0', '#508642', '#cca300'];
const BG = '#111217';
const PANEL_BG = '#181b1f';
const TEXT = '#ccccdc';
const MUTED = '#8e8e9e';
const MAX_LEGEND = 6;

function escapeXml(text) {
  return String(text).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]);
}

function fixed(value, digits) {
  return Number(value.toFixed(digits)).toString();
}

/** A value in the panel's unit, as Grafana would print it (roughly). */
function formatValue(value, unit) {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  switch (unit) {
    case 's':
      if (abs === 0) return '0 s';
      if (abs < 1) return `${fixed(value * 1000, abs < 0.01 ? 2 : 1)} ms`;
      if (abs < 120) return `${fixed(value, 2)} s`;
      return `${fixed(value / 60, 1)} min`;
    case 'percentunit':
      return `${fixed(value * 100, abs < 0.01 ? 3 : 1)}%`;
    case 'bytes':
      if (abs >= 1 << 30) return `${fixed(value / (1 << 30), 2)} GiB`;
      if (abs >= 1 << 20) return `${fixed(value / (1 << 20), 1)} MiB`;
      if (abs >= 1 << 10) return `${fixed(value / (1 << 10), 1)} KiB`;
      return `${fixed(value, 0)} B`;
    case 'reqps':
      return `${fixed(value, abs < 10 ? 2 : 0)} req/s`;
    default:
      if (abs >= 1e6) return `${fixed(value / 1e6, 1)}M`;
      if (abs >= 1e3) return `${fixed(value / 1e3, 1)}k`;
      return fixed(value, abs < 10 ? 2 : 1);
  }
}

function text(x, y, content, { size = 12, fill = TEXT, anchor = 'start', weight = 'normal' } = {}) {
  return `<text x="${x}" y="${y}" font-family="DejaVu Sans, sans-serif" font-size="${size}" fill="${fill}" text-anchor="${anchor}" font-weight="${weight}">${escapeXml(content)}</text>`;
}

function frame(box, title) {
  return [
    `<rect x="${box.x + 2}" y="${box.y + 2}" width="${box.w - 4}" height="${box.h - 4}" rx="3" fill="${PANEL_BG}" stroke="#2c3235"/>`,
    text(box.x + PAD + 2, box.y + 20, title, { size: 13, weight: 'bold' }),
  ];
}

function noData(box) {
  return text(box.x + box.w / 2, box.y + box.h / 2, 'No data', { size: 16, fill: MUTED, anchor: 'middle' });
}

/** series: [{ name, points: [[t, v], …] }] */
function drawTimeseries(box, title, unit, series, range) {
  const parts = frame(box, title);
  const all = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  if (all.length === 0) return [...parts, noData(box)].join('');
  const legendRows = Math.min(series.length, MAX_LEGEND);
  const legendHeight = Math.ceil(legendRows / 2) * 15 + 4;
  const plot = { x: box.x + 70, y: box.y + 32, w: box.w - 70 - PAD - 4, h: box.h - 32 - legendHeight - 22 };
  let min = Math.min(0, ...all);
  let max = Math.max(...all);
  if (max === min) max = min + 1;
  const sx = (t) => plot.x + ((t - range.start) / (range.end - range.start)) * plot.w;
  const sy = (v) => plot.y + plot.h - ((v - min) / (max - min)) * plot.h;
  for (let i = 0; i <= 4; i++) {
    const v = min + ((max - min) * i) / 4;
    const y = sy(v);
    parts.push(`<line x1="${plot.x}" y1="${y}" x2="${plot.x + plot.w}" y2="${y}" stroke="#2c3235"/>`);
    parts.push(text(plot.x - 6, y + 4, formatValue(v, unit), { size: 10, fill: MUTED, anchor: 'end' }));
  }
  for (let i = 0; i <= 3; i++) {
    const t = range.start + ((range.end - range.start) * i) / 3;
    const label = new Date(t * 1000).toISOString().slice(11, 19);
    parts.push(text(sx(t), plot.y + plot.h + 14, label, { size: 10, fill: MUTED, anchor: i === 0 ? 'start' : i === 3 ? 'end' : 'middle' }));
  }
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const points = s.points.filter((p) => Number.isFinite(p[1]));
    if (points.length === 1) {
      parts.push(`<circle cx="${sx(points[0][0])}" cy="${sy(points[0][1])}" r="2" fill="${color}"/>`);
    } else if (points.length > 1) {
      const d = points.map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    }
  });
  const legendY = plot.y + plot.h + 30;
  series.slice(0, MAX_LEGEND).forEach((s, i) => {
    const x = box.x + PAD + 6 + (i % 2) * (box.w / 2);
    const y = legendY + Math.floor(i / 2) * 15;
    const last = s.points.length ? s.points[s.points.length - 1][1] : NaN;
    parts.push(`<rect x="${x}" y="${y - 8}" width="10" height="3" fill="${PALETTE[i % PALETTE.length]}"/>`);
    const value = formatValue(last, unit);
    // About 6 px a character at 10 px: the name is cut to leave the value room in its half.
    const room = Math.max(8, Math.floor((box.w / 2 - 24) / 6) - value.length - 2);
    const name = s.name.length > room ? `${s.name.slice(0, room - 1)}…` : s.name;
    parts.push(text(x + 14, y - 3, `${name}  ${value}`, { size: 10 }));
  });
  if (series.length > MAX_LEGEND) {
    parts.push(text(box.x + box.w - PAD - 4, box.y + 20, `+${series.length - MAX_LEGEND} more series`, { size: 10, fill: MUTED, anchor: 'end' }));
  }
  return parts.join('');
}

function thresholdColor(panel, value) {
  const steps = panel.fieldConfig?.defaults?.thresholds?.steps ?? [];
  let color = '#73bf69';
  for (const step of steps) {
    if (step.value === null || value >= step.value) color = { green: '#73bf69', orange: '#ff9830', red: '#f2495c' }[step.color] ?? step.color;
  }
  return color;
}

function drawStat(box, panel, unit, series) {
  const parts = frame(box, panel.title);
  const lasts = series.map((s) => ({ name: s.name, value: s.points.length ? s.points[s.points.length - 1][1] : NaN })).filter((s) => Number.isFinite(s.value));
  if (lasts.length === 0) return [...parts, noData(box)].join('');
  const shown = lasts.slice(0, 4);
  const cellW = (box.w - 2 * PAD) / shown.length;
  shown.forEach((s, i) => {
    const cx = box.x + PAD + cellW * i + cellW / 2;
    const size = shown.length > 2 ? 18 : 26;
    parts.push(text(cx, box.y + box.h / 2 + 12, formatValue(s.value, unit), { size, fill: thresholdColor(panel, s.value), anchor: 'middle', weight: 'bold' }));
    if (shown.length > 1) parts.push(text(cx, box.y + box.h - 10, s.name.slice(0, 18), { size: 9, fill: MUTED, anchor: 'middle' }));
  });
  return parts.join('');
}

async function panelSeries(prometheusUrl, panel, values, range) {
  const series = [];
  for (const target of panel.targets ?? []) {
    const result = await rangeQuery(prometheusUrl, substitute(target.expr, values), range.start, range.end, range.step);
    for (const r of result) {
      series.push({ name: legendOf(target.legendFormat, r.metric), points: r.values.map(([t, v]) => [Number(t), Number(v)]) });
    }
  }
  return series;
}

/** One dashboard as an SVG document. */
async function dashboardSvg(prometheusUrl, dashboard, range) {
  const values = variableValues(dashboard);
  const bottom = Math.max(...dashboard.panels.map((p) => p.gridPos.y + p.gridPos.h));
  const headerHeight = 44;
  const height = headerHeight + bottom * ROW_HEIGHT + PAD;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
    `<rect width="100%" height="100%" fill="${BG}"/>`,
    text(PAD + 4, 28, dashboard.title, { size: 20, weight: 'bold' }),
    text(WIDTH - PAD - 4, 28, `${new Date(range.start * 1000).toISOString().slice(0, 19)}Z – ${new Date(range.end * 1000).toISOString().slice(11, 19)}Z`, { size: 12, fill: MUTED, anchor: 'end' }),
  ];
  for (const panel of dashboard.panels) {
    const g = panel.gridPos;
    const box = { x: g.x * COLUMN, y: headerHeight + g.y * ROW_HEIGHT, w: g.w * COLUMN, h: g.h * ROW_HEIGHT };
    if (panel.type === 'row') {
      parts.push(text(box.x + PAD + 4, box.y + 22, panel.title, { size: 15, weight: 'bold', fill: '#6e9fff' }));
      continue;
    }
    const unit = panel.fieldConfig?.defaults?.unit ?? 'short';
    const series = await panelSeries(prometheusUrl, panel, values, range);
    parts.push(panel.type === 'stat' ? drawStat(box, panel, unit, series) : drawTimeseries(box, panel.title, unit, series, range));
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** Renders every dashboard to <out>/<uid>.png over the last `minutes`; returns the files written. */
async function renderAll(prometheusUrl, outDir, minutes = 15) {
  // Loaded lazily: only rendering needs the native binary.
  const { Resvg } = require('@resvg/resvg-js');
  fs.mkdirSync(outDir, { recursive: true });
  const end = Math.floor(Date.now() / 1000);
  const start = end - minutes * 60;
  const range = { start, end, step: Math.max(1, Math.floor((end - start) / 240)) };
  const written = [];
  for (const dashboard of loadDashboards()) {
    const svg = await dashboardSvg(prometheusUrl, dashboard, range);
    const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: BG }).render().asPng();
    const file = path.join(outDir, `${dashboard.uid}.png`);
    fs.writeFileSync(file, png);
    written.push(file);
  }
  return written;
}

function argValue(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

if (require.main === module) {
  const prometheusUrl = argValue('--prometheus', process.env.PROMETHEUS_URL ?? 'http://127.0.0.1:9090');
  const out = argValue('--out', path.join(__dirname, '..', '..', 'docs', 'dashboards'));
  const minutes = Number(argValue('--minutes', '15'));
  renderAll(prometheusUrl, out, minutes).then(
    (files) => files.forEach((f) => console.log(f)),
    (err) => {
      console.error(`render failed: ${err.message}`);
      process.exit(1);
    },
  );
}

module.exports = { renderAll, dashboardSvg, formatValue };
