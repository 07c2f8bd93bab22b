// Unit formatting shared by the charts and tooltips. Units are Grafana unit
// ids (see grafana/panels), so the UI and the dashboards agree.

export function fmt(v, unit) {
  if (v == null || !isFinite(v)) return '—';
  switch (unit) {
    case 's': return fmtSeconds(v);
    case 'percent': return v.toFixed(v < 10 ? 1 : 0) + '%';
    case 'percentunit': return (v * 100).toFixed(v < 0.1 ? 1 : 0) + '%';
    case 'bytes': return fmtScaled(v, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB']);
    case 'watt': return short(v) + ' W';
    case 'celsius': return short(v) + ' °C';
    case 'hertz': return fmtScaled(v, 1000, ['Hz', 'kHz', 'MHz', 'GHz']);
    case 'reqps': return short(v) + ' req/s';
    default: return short(v);
  }
}

export function fmtSeconds(v) {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a < 1e-3) return (v * 1e6).toFixed(0) + ' µs';
  if (a < 1) return +(v * 1e3).toPrecision(3) + ' ms';
  if (a < 60) return +v.toPrecision(3) + ' s';
  return (v / 60).toFixed(1) + ' min';
}

function fmtScaled(v, base, units) {
  let i = 0;
  while (Math.abs(v) >= base && i < units.length - 1) { v /= base; i++; }
  return +v.toPrecision(3) + ' ' + units[i];
}

export function short(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return +(v / 1e9).toPrecision(3) + 'G';
  if (a >= 1e6) return +(v / 1e6).toPrecision(3) + 'M';
  if (a >= 1e4) return +(v / 1e3).toPrecision(3) + 'k';
  if (a === 0) return '0';
  if (a < 0.01) return v.toExponential(1);
  return String(+v.toPrecision(3));
}

// legend fills a Grafana legend format ("{{model}} p99") from a metric.
export function legend(format, metric) {
  if (!format) {
    const name = metric.__name__ || '';
    const rest = Object.keys(metric).filter(k => k !== '__name__').sort()
      .map(k => k + '="' + metric[k] + '"').join(', ');
    return name + '{' + rest + '}';
  }
  const s = format.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, k) => metric[k] || '');
  return s.replace(/\s+/g, ' ').trim() || format;
}
