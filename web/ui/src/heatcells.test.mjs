import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heatCells } from './heatcells.js';

// Cumulative rates (per second) of three buckets, le 0.1, 0.5 and +Inf,
// over two steps of 10 s each, given out of order as a query returns them.
const byLe = new Map([
  ['+Inf', [10, null]],
  ['0.1', [5, null]],
  ['0.5', [9.95, null]],
]);

test('cells are de-accumulated rates times the step, bounds ascending', () => {
  const c = heatCells(byLe, 2, 10);
  assert.deepEqual(c.bounds, [0.1, 0.5, Infinity]);
  assert.deepEqual(c.counts.map(r => r[0].toFixed(6)), ['50.000000', '49.500000', '0.500000']);
  assert.equal(c.max, 50);
  // A step without samples has no cells and no p99.
  assert.deepEqual(c.counts.map(r => r[1]), [0, 0, 0]);
  assert.equal(c.p99[1], null);
  assert.equal(c.p99v[1], null);
});

test('the p99 marker interpolates inside its bucket, as histogram_quantile does', () => {
  // rank 0.99 × 10 = 9.9 lies in (0.1, 0.5]: (9.9 − 5) / (9.95 − 5) of the way.
  const c = heatCells(byLe, 2, 10);
  const frac = (9.9 - 5) / (9.95 - 5);
  assert.ok(Math.abs(c.p99[0] - (1 + frac)) < 1e-12, String(c.p99[0]));
  assert.ok(Math.abs(c.p99v[0] - (0.1 + 0.4 * frac)) < 1e-12, String(c.p99v[0]));
});

test('a p99 in the +Inf bucket reads as the last finite bound', () => {
  const c = heatCells(new Map([['0.1', [1]], ['1', [2]], ['+Inf', [10]]]), 1, 1);
  assert.equal(c.p99[0], 2);
  assert.equal(c.p99v[0], 1);
});

test('a p99 in the first bucket interpolates from zero', () => {
  const c = heatCells(new Map([['0.2', [100]], ['+Inf', [100]]]), 1, 1);
  assert.ok(Math.abs(c.p99v[0] - 0.198) < 1e-12, String(c.p99v[0]));
  assert.ok(Math.abs(c.p99[0] - 0.99) < 1e-12, String(c.p99[0]));
});

test('a cumulative bucket below its neighbour counts as empty, never negative', () => {
  // Rates of different scrapes can disagree by rounding: le=1 below le=0.5.
  const c = heatCells(new Map([['0.5', [4]], ['1', [3]], ['+Inf', [4]]]), 1, 1);
  assert.deepEqual(c.counts.map(r => r[0]), [4, 0, 0]);
  assert.ok(c.counts.every(r => r[0] >= 0));
});

test('an idle step (all zero) draws no p99', () => {
  const c = heatCells(new Map([['0.5', [0]], ['+Inf', [0]]]), 1, 15);
  assert.equal(c.p99[0], null);
  assert.equal(c.max, 0);
});

test('le values that are not numbers are left out', () => {
  const c = heatCells(new Map([['0.5', [1]], ['oops', [7]], ['Inf', [1]]]), 1, 1);
  assert.deepEqual(c.bounds, [0.5, Infinity]);
});
