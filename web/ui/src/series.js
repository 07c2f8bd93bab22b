// Pure helpers of the charts' series: colours and legend values. Kept apart
// from the drawing code so `node --test` can check them without a browser.

export const palette = ['#7eb26d', '#eab839', '#6ed0e0', '#ef843c', '#e24d42', '#1f78c1', '#ba43a9', '#705da0', '#508642', '#cca300'];

// seriesColor is the colour of the i-th series of a chart: the palette
// first, then hues a golden angle apart, so no two series of one chart
// share a colour however many there are.
export function seriesColor(i) {
  if (i < palette.length) return palette[i];
  const k = i - palette.length;
  const hue = (k * 137.508 + 17) % 360;
  // Two lightness bands keep neighbouring hues apart.
  const light = k % 2 === 0 ? 45 : 62;
  return 'hsl(' + hue.toFixed(2) + ', 70%, ' + light + '%)';
}

// lastValue is the latest finite value of a series (null when none): what
// a legend shows while the cursor is not on the chart.
export function lastValue(ys) {
  for (let i = (ys?.length ?? 0) - 1; i >= 0; i--) {
    const v = ys[i];
    if (v != null && isFinite(v)) return v;
  }
  return null;
}

// legendValue is the value a legend shows for a series: the hovered point
// while the cursor is on the chart (idx set), else the latest point.
export function legendValue(ys, idx) {
  return idx == null ? lastValue(ys) : ys[idx];
}
