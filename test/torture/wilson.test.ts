import assert from 'node:assert/strict';
import test from 'node:test';
import { Z_95, formatPercent, formatProportion, wilson } from '../../src/torture/wilson.js';

const close = (actual: number, expected: number, digits = 4): void => {
  assert.ok(Math.abs(actual - expected) < 10 ** -digits, `${actual} is not ${expected} to ${digits} digits`);
};

test('z is the 0.975 normal quantile', () => {
  close(Z_95, 1.96, 2);
});

test('all-pass runs: the lower bounds the research note quotes (n / (n + z²))', () => {
  close(wilson(1600, 1600).lower, 0.99760);
  close(wilson(2000, 2000).lower, 0.99808);
  close(wilson(3838, 3838).lower, 0.99900);
  close(wilson(8000, 8000).lower, 0.99952, 5);
  for (const n of [1, 20, 1600, 8000]) {
    const p = wilson(n, n);
    assert.equal(p.rate, 1);
    assert.equal(p.upper, 1);
    close(p.lower, n / (n + Z_95 * Z_95), 12);
  }
});

test('textbook intervals: 5/10, 0/10, 1/20', () => {
  const half = wilson(5, 10);
  close(half.lower, 0.2366);
  close(half.upper, 0.7634);
  const none = wilson(0, 10);
  assert.equal(none.lower, 0);
  close(none.upper, 0.2775);
  const one = wilson(1, 20);
  close(one.lower, 0.0089);
  close(one.upper, 0.2361);
});

test('the interval always holds the rate and stays inside [0, 1]', () => {
  for (const [k, n] of [[0, 1], [1, 1], [3, 7], [999, 1000], [1, 1000]] as const) {
    const p = wilson(k, n);
    assert.ok(p.lower <= p.rate && p.rate <= p.upper, `${k}/${n}`);
    assert.ok(p.lower >= 0 && p.upper <= 1, `${k}/${n}`);
  }
});

test('n = 0 is "no information", and impossible counts are refused', () => {
  assert.deepEqual(wilson(0, 0), { k: 0, n: 0, rate: 0, lower: 0, upper: 1 });
  assert.throws(() => wilson(3, 2), RangeError);
  assert.throws(() => wilson(-1, 2), RangeError);
  assert.throws(() => wilson(1.5, 2), RangeError);
});

test('percentages show enough digits to tell bounds near 100 % apart', () => {
  assert.equal(formatPercent(wilson(8000, 8000).lower), '99.952 %');
  assert.equal(formatPercent(1), '100.0 %');
  assert.equal(formatPercent(0.5), '50.0 %');
  assert.equal(formatProportion(wilson(2000, 2000)), '2000/2000 = 100.0 % [99.81 %, 100.0 %]');
});
