import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seriesColor, lastValue, legendValue, palette } from './series.js';

test('no two series of a chart share a colour', () => {
  const colors = Array.from({ length: 60 }, (_, i) => seriesColor(i));
  assert.equal(new Set(colors).size, 60);
  assert.deepEqual(colors.slice(0, palette.length), palette);
});

test('the legend shows the latest finite value without hovering', () => {
  assert.equal(lastValue([1, 2, null, NaN]), 2);
  assert.equal(lastValue([null, null]), null);
  assert.equal(lastValue([]), null);
  assert.equal(legendValue([1, 2, 3], null), 3);
  assert.equal(legendValue([1, 2, 3], 0), 1);
});
