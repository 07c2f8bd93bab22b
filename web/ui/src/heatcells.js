// heatCells turns a heatmap's cumulative per-bucket rates into cells and the
// p99 marker, without drawing anything (so node's test runner can check it).
//
// byLe maps each le bound (as Prometheus writes it, "+Inf" included) to the
// rates of that cumulative bucket on the chart's time grid (null where the
// series has no sample); step is the grid's step in seconds.
//
// It returns the bounds in ascending order, counts[i][j] (observations in
// bucket i during step j: de-accumulated rate × step), the largest count, and
// per step the p99 as a fractional bucket position (p99, for the y axis of
// bucket rows) and as a value (p99v, linear within the bucket as
// histogram_quantile does; the last finite bound when it falls in +Inf).
export function heatCells(byLe, nSteps, step) {
  // parseFloat does not read Prometheus' "+Inf".
  const leValue = le => (le === '+Inf' || le === 'Inf' ? Infinity : parseFloat(le));
  const les = [...byLe.keys()].filter(le => !isNaN(leValue(le))).sort((a, b) => {
    const x = leValue(a), y = leValue(b);
    return x === y ? 0 : x < y ? -1 : 1;
  });
  const n = les.length;
  const bounds = les.map(leValue);
  const counts = les.map(() => new Array(nSteps).fill(0));
  const p99 = new Array(nSteps).fill(null);
  const p99v = new Array(nSteps).fill(null);
  let max = 0;
  for (let j = 0; j < nSteps; j++) {
    let prev = 0;
    const cum = [];
    let any = false;
    for (let i = 0; i < n; i++) {
      const v = byLe.get(les[i])[j];
      if (v != null) any = true;
      // A cumulative bucket never holds less than the one below it.
      const c = Math.max(prev, v ?? prev);
      cum.push(c);
      counts[i][j] = (c - prev) * step;
      if (counts[i][j] > max) max = counts[i][j];
      prev = c;
    }
    const total = cum[n - 1];
    if (!any || !(total > 0)) continue;
    const rank = 0.99 * total;
    const i = cum.findIndex(c => c >= rank);
    const lo = i > 0 ? cum[i - 1] : 0;
    const frac = cum[i] > lo ? (rank - lo) / (cum[i] - lo) : 0;
    if (!isFinite(bounds[i])) {
      p99[j] = i; p99v[j] = bounds[i - 1] ?? null;
    } else {
      p99[j] = i + frac;
      const lb = i > 0 ? bounds[i - 1] : 0;
      p99v[j] = lb + (bounds[i] - lb) * frac;
    }
  }
  return { bounds, counts, p99, p99v, max };
}
