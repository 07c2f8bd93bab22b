import { test } from 'node:test';
import assert from 'node:assert/strict';
import { populatedSpan, edgeLabel, edgeSplits } from './heatspan.js';

test('the y-axis spans only populated buckets', () => {
  // ITL buckets 1ms…16min and +Inf; tokens only in the 10ms and 25ms ones.
  const counts = [[0, 0], [0, 3], [5, 0], [0, 0], [0, 0], [0, 0]];
  assert.deepEqual(populatedSpan(counts), { lo: 1, hi: 2 });
});

test('a heatmap without counts keeps every bucket', () => {
  assert.deepEqual(populatedSpan([[0], [0], [0]]), { lo: 0, hi: 2 });
  assert.deepEqual(populatedSpan([]), { lo: 0, hi: 0 });
});

test('edge labels name bucket bounds, +Inf past the last', () => {
  const bounds = [0.01, 0.025, 960, Infinity];
  const f = v => v + 's';
  assert.equal(edgeLabel(0, bounds, f), '0');
  assert.equal(edgeLabel(2, bounds, f), '0.025s');
  assert.equal(edgeLabel(4, bounds, f), '+Inf');
});

test('splits cover lo to hi+1, about ten of them', () => {
  assert.deepEqual(edgeSplits(1, 2), [1, 2, 3]);
  assert.equal(edgeSplits(0, 39).length, 11);
  assert.equal(edgeSplits(0, 39).at(-1), 40);
});
