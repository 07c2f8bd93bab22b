// populatedSpan returns the first and last bucket index (rows of a heatmap,
// lowest bound first) holding any count, so the y-axis spans only those: an
// ITL heatmap whose tokens all arrive within 100 ms does not climb to its
// "16 min" and "+Inf" buckets. counts[i][j] is bucket i at time step j.
// With no count anywhere it spans every bucket (an empty chart keeps its axis).
export function populatedSpan(counts) {
  let lo = -1, hi = -1;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i].some(c => c > 0)) {
      if (lo < 0) lo = i;
      hi = i;
    }
  }
  if (lo < 0) return { lo: 0, hi: Math.max(0, counts.length - 1) };
  return { lo, hi };
}

// edgeLabel is the y-axis label of edge k (the lower bound of bucket k, the
// upper bound of bucket k-1): "0" at the bottom, "+Inf" past the last bound.
export function edgeLabel(k, bounds, format) {
  if (k === 0) return '0';
  const b = bounds[k - 1];
  return isFinite(b) ? format(b) : '+Inf';
}

// edgeSplits are the edges the y-axis labels between lo and hi+1, at most
// about ten.
export function edgeSplits(lo, hi) {
  const n = hi + 1 - lo;
  const every = Math.max(1, Math.ceil(n / 10));
  const out = [];
  for (let k = lo; k <= hi + 1; k++) if ((k - lo) % every === 0) out.push(k);
  return out;
}
