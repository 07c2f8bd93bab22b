import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentRange, parseDuration } from './range.js';

test('parseDuration reads the picker values', () => {
  assert.equal(parseDuration('5m'), 300);
  assert.equal(parseDuration('24h'), 86400);
  assert.equal(parseDuration('custom'), null);
});

test('currentRange uses the page default without a range in the URL', () => {
  // The server picked 15m to fit the data; the URL names no range.
  const r = currentRange('', 10000, 900);
  assert.equal(r.end - r.start >= 900, true);
  assert.equal(r.end - r.start < 900 + 2 * r.step, true);
  assert.equal(r.step, 2);
});

test('currentRange prefers the URL over the default', () => {
  const r = currentRange('?range=5m', 10000, 900);
  assert.equal(r.start, 9700);
  assert.equal(r.end, 10000);
  assert.equal(r.step, 1);
});

test('currentRange falls back to an hour with no default', () => {
  const r = currentRange('', 36000);
  assert.equal(r.end - r.start, 3600);
  assert.equal(r.step, 5);
});
