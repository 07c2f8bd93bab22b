// Page glue: theme, the range/refresh/filter controls, charts and the explore
// page. The server renders every page; this script only adds what needs the
// browser (charts, live queries). No inline scripts: the CSP forbids them.
import { Chart } from './charts.js';
import { currentRange, parseDuration } from './range.js';
import { initExplore } from './explore.js';

const refreshMs = { '10s': 10000, '30s': 30000, '1m': 60000, '5m': 300000 };

function initTheme() {
  const saved = localStorage.getItem('tokenpath-theme');
  if (saved === 'dark' || saved === 'light') document.documentElement.dataset.theme = saved;
  const btn = document.querySelector('[data-testid="theme-toggle"]');
  if (!btn) return;
  btn.addEventListener('click', () => {
    const dark = document.documentElement.dataset.theme
      ? document.documentElement.dataset.theme === 'dark'
      : matchMedia('(prefers-color-scheme: dark)').matches;
    const next = dark ? 'light' : 'dark';
    document.documentElement.dataset.theme = next;
    localStorage.setItem('tokenpath-theme', next);
    // Canvas colours come from CSS variables: redraw with the new theme.
    window.dispatchEvent(new Event('tokenpath:redraw'));
  });
}

function initControls() {
  const form = document.querySelector('form[data-testid="controls"]');
  if (!form) return;
  const range = form.querySelector('select[name="range"]');
  const custom = form.querySelector('.custom-range');
  const sync = () => { if (custom) custom.hidden = range.value !== 'custom'; };
  sync();
  form.querySelectorAll('select').forEach(s => s.addEventListener('change', () => {
    sync();
    if (s === range && range.value === 'custom') return; // wait for from/to and Apply
    form.requestSubmit();
  }));
  // Empty fields would clutter the URL: drop them before submitting.
  form.addEventListener('formdata', e => {
    for (const [k, v] of [...e.formData.entries()]) if (v === '') e.formData.delete(k);
    if (e.formData.get('range') !== 'custom') { e.formData.delete('from'); e.formData.delete('to'); }
  });
}

function initCharts() {
  const charts = [...document.querySelectorAll('[data-chart]')].map(el => new Chart(el));
  const registry = {};
  charts.forEach(c => { registry[c.cfg.id] = c; });
  window.tokenpath = { charts: registry };
  const load = () => {
    // Without a range in the URL the server has chosen one that fits the
    // data: the picker's selected option.
    const picked = document.querySelector('select[name="range"]')?.value;
    const rng = currentRange(location.search, Date.now() / 1000, parseDuration(picked));
    return Promise.all(charts.map(c => c.load(rng)));
  };
  window.tokenpath.ready = load();
  let t;
  window.addEventListener('resize', () => { clearTimeout(t); t = setTimeout(() => charts.forEach(c => c.resize()), 150); });
  window.addEventListener('tokenpath:redraw', load);
  return load;
}

function initRefresh(load) {
  const every = refreshMs[new URLSearchParams(location.search).get('refresh')];
  if (!every) return;
  // Pages with server-rendered numbers reload; chart-only pages just refetch.
  if (document.body.dataset.reload === 'true') setTimeout(() => location.reload(), every);
  else setInterval(load, every);
}

document.addEventListener('DOMContentLoaded', () => {
  initTheme();
  initControls();
  const load = initCharts();
  initExplore();
  initRefresh(load);
});
