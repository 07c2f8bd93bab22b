// The time range of a page comes from its URL: range=<duration> (relative to
// now) or range=custom with from/to (datetime-local values, local time).

const units = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

export function parseDuration(s) {
  const m = /^(\d+)([smhdw])$/.exec(s || '');
  return m ? Number(m[1]) * units[m[2]] : null;
}

// MaxPoints bounds the points per series of a range query: a 24 h range then
// uses a 2-minute step and a query stays far below Prometheus' 11,000 limit.
export const MaxPoints = 720;

// defaultSec is the page's range when the URL names none: the server picks
// one that fits the data (the range picker's selected option).
export function currentRange(search, nowSec, defaultSec) {
  const q = new URLSearchParams(search);
  let start, end;
  if (q.get('range') === 'custom' && q.get('from') && q.get('to')) {
    start = Date.parse(q.get('from')) / 1000;
    end = Date.parse(q.get('to')) / 1000;
  }
  if (!(end > start)) {
    const d = parseDuration(q.get('range')) || defaultSec || 3600;
    end = nowSec;
    start = end - d;
  }
  const step = Math.max(1, Math.ceil((end - start) / MaxPoints));
  // Aligning to the step keeps columns stable between refreshes.
  start = Math.floor(start / step) * step;
  end = Math.ceil(end / step) * step;
  return { start, end, step };
}
