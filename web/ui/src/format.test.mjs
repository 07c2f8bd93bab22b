import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmt, fmtSeconds, short, legend } from './format.js';

test('seconds pick µs, ms, s or min', () => {
  assert.equal(fmtSeconds(0), '0');
  assert.equal(fmtSeconds(0.00025), '250 µs');
  assert.equal(fmtSeconds(0.0123), '12.3 ms');
  assert.equal(fmtSeconds(0.25), '250 ms');
  assert.equal(fmtSeconds(7.25), '7.25 s');
  assert.equal(fmtSeconds(90), '1.5 min');
  assert.equal(fmtSeconds(-0.5), '-500 ms');
});

test('units follow Grafana unit ids', () => {
  for (const [v, unit, want] of [
    [0.1234, 's', '123 ms'],
    [3.14159, 'percent', '3.1%'],
    [87.6, 'percent', '88%'],
    [0.05, 'percentunit', '5.0%'],
    [0.96, 'percentunit', '96%'],
    [512, 'bytes', '512 B'],
    [80 * 1024 ** 3, 'bytes', '80 GiB'],
    [1.5 * 1024 ** 2, 'bytes', '1.5 MiB'],
    [350.4, 'watt', '350 W'],
    [71, 'celsius', '71 °C'],
    [1.98e9, 'hertz', '1.98 GHz'],
    [2600e6, 'hertz', '2.6 GHz'],
    [12.5, 'reqps', '12.5 req/s'],
    [0.35, 'joule', '0.35'],
  ]) {
    assert.equal(fmt(v, unit), want, `${v} ${unit}`);
  }
});

test('missing and non-finite values show a dash', () => {
  assert.equal(fmt(null, 's'), '—');
  assert.equal(fmt(undefined, 'bytes'), '—');
  assert.equal(fmt(NaN, 'percent'), '—');
  assert.equal(fmt(Infinity, 'watt'), '—');
});

test('short numbers scale to k, M, G with three significant digits', () => {
  assert.equal(short(0), '0');
  assert.equal(short(0.004), '4.0e-3');
  // Three significant digits below 10k too: 1234 reads 1230.
  assert.equal(short(1234), '1230');
  assert.equal(short(12345), '12.3k');
  assert.equal(short(2.5e6), '2.5M');
  assert.equal(short(7.1e9), '7.1G');
  assert.equal(short(-12345), '-12.3k');
});

test('legend fills {{label}} references and collapses spaces', () => {
  assert.equal(legend('{{host}} {{server}} {{model}} p99', { server: 'vllm', model: 'llama' }), 'vllm llama p99');
  assert.equal(legend('{{ gpu }}', { gpu: '3' }), '3');
  // A format whose labels are all missing keeps the format itself.
  assert.equal(legend('{{host}}', {}), '{{host}}');
});

test('without a format the legend is the series in PromQL notation', () => {
  assert.equal(legend('', { __name__: 'up', job: 'vllm', instance: 'a:1' }), 'up{instance="a:1", job="vllm"}');
});
