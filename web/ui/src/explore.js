// The explore page: run a PromQL expression as a graph (query_range) and a
// table (instant query); show Prometheus' errorType and error verbatim.
import { Chart } from './charts.js';
import { query } from './api.js';
import { currentRange } from './range.js';
import { legend } from './format.js';

export function initExplore() {
  const form = document.querySelector('form[data-testid="explore-form"]');
  if (!form) return;
  const input = form.querySelector('textarea[name="expr"]');
  const errBox = document.querySelector('[data-testid="explore-error"]');
  const table = document.querySelector('[data-testid="explore-table"] tbody');
  const graphEl = document.querySelector('[data-testid="explore-graph"]');
  const tabs = document.querySelectorAll('[data-view]');
  tabs.forEach(b => b.addEventListener('click', () => {
    tabs.forEach(x => x.setAttribute('aria-selected', String(x === b)));
    document.querySelectorAll('.explore-view').forEach(v => { v.hidden = v.dataset.viewPanel !== b.dataset.view; });
    if (b.dataset.view === 'graph' && chart) chart.resize();
  }));
  input.addEventListener('keydown', e => {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  let chart = null;

  async function run(expr) {
    errBox.hidden = true;
    errBox.textContent = '';
    document.body.dataset.explore = 'running';
    const rng = currentRange(location.search, Date.now() / 1000);
    graphEl.dataset.chart = JSON.stringify({ id: 'explore', kind: 'timeseries', unit: 'short', queries: [{ expr, legend: '' }] });
    if (chart) chart.destroy();
    chart = new Chart(graphEl);
    table.textContent = '';
    try {
      const data = await query(expr, rng.end);
      renderTable(data);
    } catch (e) {
      errBox.textContent = '';
      const t = document.createElement('strong'); t.textContent = e.errorType;
      errBox.append(t, ': ' + e.error);
      errBox.dataset.errorType = e.errorType;
      errBox.hidden = false;
      graphEl.dataset.state = 'error';
      document.body.dataset.explore = 'error';
      return;
    }
    await chart.load(rng);
    document.body.dataset.explore = 'done';
  }

  function renderTable(data) {
    const rows = [];
    if (data.resultType === 'vector') data.result.forEach(s => rows.push([legend('', s.metric), s.value[1]]));
    else if (data.resultType === 'matrix') data.result.forEach(s => rows.push([legend('', s.metric), s.values.map(v => v[1] + ' @' + v[0]).join('\n')]));
    else rows.push([data.resultType, String(data.result[1])]);
    if (rows.length === 0) rows.push(['(empty result)', '']);
    for (const [k, v] of rows) {
      const tr = document.createElement('tr');
      const a = document.createElement('td'); a.textContent = k;
      const b = document.createElement('td'); b.textContent = v;
      tr.append(a, b);
      table.appendChild(tr);
    }
  }

  form.addEventListener('submit', e => {
    e.preventDefault();
    const expr = input.value.trim();
    if (!expr) return;
    const q = new URLSearchParams(location.search);
    q.set('expr', expr);
    history.replaceState(null, '', '?' + q.toString());
    run(expr);
  });
  if (input.value.trim()) run(input.value.trim());
}
