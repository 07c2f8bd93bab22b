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

test('parseDuration rejects what the picker never sends', () => {
  for (const s of ['', null, undefined, '5', 'm', '1.5h', '-5m', '5M', '5m ', '2y']) {
    assert.equal(parseDuration(s), null, String(s));
  }
  assert.equal(parseDuration('1w'), 604800);
  assert.equal(parseDuration('30s'), 30);
});

test('currentRange reads a custom from/to and aligns it to the step', () => {
  const from = '2026-01-01T00:00', to = '2026-01-02T00:00';
  const start = Date.parse(from) / 1000, end = Date.parse(to) / 1000;
  const r = currentRange(`?range=custom&from=${from}&to=${to}`, 0);
  // 24 h in at most 720 points: a 120 s step.
  assert.equal(r.step, 120);
  assert.equal(r.start, Math.floor(start / 120) * 120);
  assert.equal(r.end, Math.ceil(end / 120) * 120);
});

test('a custom range that ends before it starts falls back to the duration', () => {
  const r = currentRange('?range=custom&from=2026-01-02T00:00&to=2026-01-01T00:00', 7200, 600);
  assert.equal(r.end, 7200);
  assert.equal(r.start, 6600);
});

test('an unknown range in the URL uses the page default', () => {
  const r = currentRange('?range=forever', 100000, 900);
  assert.equal(r.end - r.start >= 900, true);
  assert.equal(r.end - r.start < 900 + 2 * r.step, true);
});
