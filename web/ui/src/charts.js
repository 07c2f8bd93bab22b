// Chart drawing on uPlot: time series, Grafana-style heatmaps from
// per-bucket rates, and state bands. Every chart element carries its panel
// definition in data-chart (JSON written by the server); the chart fetches its
// own data from /api/v1/query_range.
import uPlot from 'uplot';
import { queryRange } from './api.js';
import { fmt, fmtSeconds, legend } from './format.js';
import { seriesColor, legendValue } from './series.js';
import { populatedSpan, edgeLabel, edgeSplits } from './heatspan.js';
import { heatCells } from './heatcells.js';
const heatStops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
const namedColors = { blue: '#5794f2', green: '#73bf69', yellow: '#fade2a', orange: '#ff9830', red: '#f2495c', purple: '#b877d9' };

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

function axisStyle() {
  return { stroke: cssVar('--fg-muted', '#888'), grid: { stroke: cssVar('--grid', 'rgba(128,128,128,0.2)'), width: 1 }, ticks: { show: false } };
}

// timeAxisStyle leaves room for uPlot's two-line date labels.
function timeAxisStyle() {
  return { ...axisStyle(), space: 90 };
}

function heatColor(t) {
  const x = Math.min(1, Math.max(0, t)) * (heatStops.length - 1);
  const i = Math.min(heatStops.length - 2, Math.floor(x));
  const f = x - i;
  const a = heatStops[i], b = heatStops[i + 1];
  return 'rgb(' + a.map((c, k) => Math.round(c + (b[k] - c) * f)).join(',') + ')';
}

// timeAxis returns the shared x values of a range: Prometheus evaluates a
// range query at start + k*step, so every series fits this grid.
function timeAxis(rng) {
  const xs = [];
  for (let t = rng.start; t <= rng.end + 1e-9; t += rng.step) xs.push(t);
  return xs;
}

function onGrid(xs, rng, values) {
  const ys = new Array(xs.length).fill(null);
  for (const [t, v] of values) {
    const i = Math.round((t - rng.start) / rng.step);
    if (i >= 0 && i < ys.length) {
      const f = parseFloat(v);
      ys[i] = isFinite(f) ? f : null;
    }
  }
  return ys;
}

// place puts a tooltip next to the cursor; cursor positions are relative to
// uPlot's plot area, the tooltip to the chart element.
function place(tip, u, left, top) {
  const o = u.over.getBoundingClientRect();
  const p = tip.offsetParent ? tip.offsetParent.getBoundingClientRect() : o;
  const x = o.left - p.left + left + 12;
  tip.style.left = Math.min(x, p.width - 180) + 'px';
  tip.style.top = (o.top - p.top + top + 12) + 'px';
}

function width(el) {
  return Math.max(280, el.clientWidth || 600);
}

// Chart owns one chart element: it fetches, draws, redraws on resize and
// reports its state in data-state (loading, drawn, empty, error) so tests
// and users can tell a blank chart from one still loading.
export class Chart {
  constructor(el) {
    this.el = el;
    this.cfg = JSON.parse(el.dataset.chart);
    this.body = el.querySelector('.chart-body');
    this.status = el.querySelector('.chart-status');
    this.tooltip = el.querySelector('.chart-tooltip');
    this.plot = null;
    this.cells = [];
  }

  setStatus(state, text) {
    this.el.dataset.state = state;
    this.status.textContent = text || '';
    this.status.hidden = !text;
  }

  async load(rng) {
    this.el.dataset.start = String(rng.start);
    this.el.dataset.end = String(rng.end);
    this.el.dataset.step = String(rng.step);
    this.setStatus('loading', this.plot ? '' : 'Loading…');
    let results;
    try {
      results = await Promise.all(this.cfg.queries.map(q => queryRange(q.expr, rng.start, rng.end, rng.step)));
    } catch (e) {
      this.destroy();
      this.setStatus('error', e.message);
      return;
    }
    const series = [];
    results.forEach((r, qi) => (r.result || []).forEach(s => series.push({ q: this.cfg.queries[qi], s })));
    this.destroy();
    if (series.length === 0) {
      this.setStatus('empty', 'No data in this time range. ' + (this.cfg.empty || ''));
      return;
    }
    const kind = this.cfg.kind;
    if (kind === 'heatmap') this.drawHeatmap(series, rng);
    else if (kind === 'state-timeline') this.drawStates(series, rng);
    else this.drawSeries(series, rng);
    // Milliseconds since navigation: the browser tests check the first paint.
    if (!this.el.dataset.paintMs) this.el.dataset.paintMs = String(Math.round(performance.now()));
    this.setStatus('drawn', '');
  }

  destroy() {
    if (this.plot) { this.plot.destroy(); this.plot = null; }
    this.cells = [];
  }

  drawSeries(series, rng) {
    const xs = timeAxis(rng);
    const unit = this.cfg.unit;
    const rightUnit = (series.find(x => x.q.right) || {}).q?.unit || 'short';
    const useRight = series.some(x => x.q.right);
    const data = [xs];
    const opts = {
      width: width(this.body), height: 220,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true, range: [rng.start, rng.end] }, y: {} },
      axes: [
        timeAxisStyle(),
        { ...axisStyle(), size: 64, values: (u, vals) => vals.map(v => fmt(v, unit)) },
      ],
      // Off the chart the legend shows the latest values: say so for time.
      series: [{ value: (u, v) => (v == null ? 'latest' : new Date(v * 1000).toLocaleString()) }],
    };
    if (this.cfg.min != null || this.cfg.max != null) {
      opts.scales.y = { range: (u, lo, hi) => [this.cfg.min ?? lo, this.cfg.max ?? hi] };
    }
    if (useRight) {
      opts.scales.y2 = {};
      opts.axes.push({ ...axisStyle(), scale: 'y2', side: 1, size: 56, grid: { show: false }, values: (u, vals) => vals.map(v => fmt(v, rightUnit)) });
    }
    series.forEach((x, i) => {
      const ys = onGrid(xs, rng, x.s.values || []);
      data.push(ys);
      const u = x.q.right ? rightUnit : unit;
      opts.series.push({
        label: legend(x.q.legend, x.s.metric),
        stroke: seriesColor(i),
        width: 2,
        dash: x.q.right ? [6, 4] : undefined,
        scale: x.q.right ? 'y2' : 'y',
        spanGaps: false,
        points: { show: false },
        // Without hovering, the legend shows the latest value.
        value: (p, v, si, idx) => fmt(legendValue(ys, idx), u),
      });
    });
    this.plot = new uPlot(opts, data, this.body);
  }

  // drawHeatmap draws Grafana's heatmap from cumulative per-bucket rates: a
  // cell is the number of observations that fell into one bucket during one
  // step (rate × step, de-accumulated across le), coloured on a log scale.
  drawHeatmap(series, rng) {
    const xs = timeAxis(rng);
    const byLe = new Map();
    for (const x of series) {
      const le = x.s.metric.le;
      if (le == null) continue;
      const ys = onGrid(xs, rng, x.s.values || []);
      const prev = byLe.get(le);
      byLe.set(le, prev ? prev.map((v, i) => (v ?? 0) + (ys[i] ?? 0)) : ys);
    }
    const { bounds, counts, p99, p99v, max } = heatCells(byLe, xs.length, rng.step);
    const n = bounds.length;
    const label = k => edgeLabel(k, bounds, b => fmt(b, this.cfg.unit || 's'));
    // The y-axis spans the populated buckets only.
    const { lo: yLo, hi: yHi } = populatedSpan(counts);
    const logMax = Math.log1p(max);
    const self = this;
    const tip = this.tooltip;
    const unit = this.cfg.unit || 's';
    const opts = {
      width: width(this.body), height: 260,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: { x: { time: true, range: [rng.start, rng.end] }, y: { auto: false, range: [yLo, yHi + 1] } },
      axes: [
        timeAxisStyle(),
        { ...axisStyle(), size: 64, splits: () => edgeSplits(yLo, yHi), values: (u, vals) => vals.map(label) },
      ],
      series: [{}, { label: 'p99', stroke: '#f2495c', width: 2, points: { show: false } }],
      hooks: {
        // drawClear runs before uPlot draws grid and series, so the p99 line
        // and the grid stay visible on top of the cells.
        drawClear: [u => {
          const ctx = u.ctx;
          ctx.save();
          ctx.beginPath();
          ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
          ctx.clip();
          self.cells = [];
          for (let j = 0; j < xs.length; j++) {
            const x0 = Math.round(u.valToPos(xs[j] - rng.step, 'x', true));
            const x1 = Math.round(u.valToPos(xs[j], 'x', true));
            for (let i = 0; i < n; i++) {
              const c = counts[i][j];
              if (!(c > 0)) continue;
              const y0 = Math.round(u.valToPos(i + 1, 'y', true));
              const y1 = Math.round(u.valToPos(i, 'y', true));
              ctx.fillStyle = heatColor(logMax > 0 ? Math.log1p(c) / logMax : 1);
              // A 1px gap separates cells only where cells are wide enough.
              const gap = x1 - x0 > 4 ? 1 : 0;
              ctx.fillRect(x0, y0, Math.max(1, x1 - x0 - gap), Math.max(1, y1 - y0 - 1));
              self.cells.push({ j, i });
            }
          }
          ctx.restore();
        }],
        setCursor: [u => {
          const { left, top } = u.cursor;
          if (left == null || left < 0 || top < 0) { tip.hidden = true; return; }
          const t = u.posToVal(left, 'x');
          const j = Math.ceil((t - rng.start) / rng.step - 1e-9);
          const i = Math.floor(u.posToVal(top, 'y'));
          if (j < 0 || j >= xs.length || i < yLo || i > yHi) { tip.hidden = true; return; }
          const lo = i > 0 ? bounds[i - 1] : 0;
          const hi = bounds[i];
          const c = counts[i][j];
          tip.textContent = '';
          const lines = [
            new Date(xs[j] * 1000).toLocaleString(),
            'bucket ' + fmt(lo, unit) + ' – ' + (isFinite(hi) ? fmt(hi, unit) : '+Inf'),
            'count ' + (c >= 10 ? c.toFixed(0) : +c.toPrecision(3)),
          ];
          if (p99v[j] != null) lines.push('p99 ' + fmt(p99v[j], unit));
          for (const l of lines) { const d = document.createElement('div'); d.textContent = l; tip.appendChild(d); }
          tip.dataset.bucket = String(i);
          tip.dataset.count = String(c);
          tip.hidden = false;
          place(tip, u, left, top);
        }],
      },
    };
    this.plot = new uPlot(opts, [xs, p99], this.body);
    this.el.dataset.buckets = String(n);
    // The y-axis' bottom and top edges, for the browser tests.
    this.el.dataset.yBottom = label(yLo);
    this.el.dataset.yTop = label(yHi + 1);
    this.el.dataset.p99 = p99.some(v => v != null) ? 'yes' : 'no';
  }

  // drawStates draws one coloured band per series, the way Grafana's state
  // timeline does, using the panel's value mappings.
  drawStates(series, rng) {
    const xs = timeAxis(rng);
    const rows = series.map(x => ({ label: legend(x.q.legend, x.s.metric), ys: onGrid(xs, rng, x.s.values || []) }));
    const mappings = this.cfg.mappings || [];
    const mapFor = v => mappings.find(m => m.value === v);
    const n = rows.length;
    const tip = this.tooltip;
    const opts = {
      width: width(this.body), height: 40 + 34 * n,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: { x: { time: true, range: [rng.start, rng.end] }, y: { auto: false, range: [0, n] } },
      axes: [
        timeAxisStyle(),
        { ...axisStyle(), size: 80, grid: { show: false }, splits: () => rows.map((_, i) => i + 0.5), values: () => rows.map(r => r.label) },
      ],
      series: [{}],
      hooks: {
        draw: [u => {
          const ctx = u.ctx;
          for (let r = 0; r < n; r++) {
            const y0 = Math.round(u.valToPos(r + 0.95, 'y', true));
            const y1 = Math.round(u.valToPos(r + 0.05, 'y', true));
            for (let j = 0; j < xs.length; j++) {
              const v = rows[r].ys[j];
              if (v == null) continue;
              const m = mapFor(v);
              const x0 = Math.round(u.valToPos(xs[j] - rng.step, 'x', true));
              const x1 = Math.round(u.valToPos(xs[j], 'x', true));
              ctx.fillStyle = namedColors[m?.color] || m?.color || '#888';
              ctx.fillRect(Math.max(x0, u.bbox.left), y0, Math.max(1, x1 - Math.max(x0, u.bbox.left)), y1 - y0);
            }
          }
        }],
        setCursor: [u => {
          const { left, top } = u.cursor;
          if (left == null || left < 0) { tip.hidden = true; return; }
          const j = Math.ceil((u.posToVal(left, 'x') - rng.start) / rng.step - 1e-9);
          const r = Math.floor(u.posToVal(top, 'y'));
          const v = rows[r]?.ys[j];
          if (v == null) { tip.hidden = true; return; }
          tip.textContent = rows[r].label + ': ' + (mapFor(v)?.text || String(v));
          tip.hidden = false;
          place(tip, u, left, top);
        }],
      },
    };
    this.plot = new uPlot(opts, [xs], this.body);
  }

  // heatCell returns the page coordinates of the centre of a non-empty
  // heatmap cell (used by the browser tests to hover one).
  heatCell() {
    if (!this.plot || this.cells.length === 0) return null;
    const { j, i } = this.cells[this.cells.length - 1];
    const u = this.plot;
    const cfgStep = Number(this.el.dataset.step);
    const t = Number(this.el.dataset.start) + j * cfgStep;
    const x = (u.valToPos(t - cfgStep, 'x') + u.valToPos(t, 'x')) / 2;
    const y = (u.valToPos(i + 1, 'y') + u.valToPos(i, 'y')) / 2;
    const r = u.over.getBoundingClientRect();
    return { x: r.left + x, y: r.top + y };
  }

  resize() {
    if (this.plot) this.plot.setSize({ width: width(this.body), height: this.plot.height });
  }
}

export { fmtSeconds };
