import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from '../../src/format/duration.js';
import { expectError } from './fixtures.js';

test('durations as written on a command line', () => {
  assert.equal(parseDuration('--x', '90'), 90_000);
  assert.equal(parseDuration('--x', '90s'), 90_000);
  assert.equal(parseDuration('--x', '250ms'), 250);
  assert.equal(parseDuration('--x', '15m'), 900_000);
  assert.equal(parseDuration('--x', '1h30m'), 5_400_000);
  assert.equal(parseDuration('--x', '1.5h'), 5_400_000);
  assert.equal(parseDuration('--x', '2d'), 172_800_000);
  assert.equal(parseDuration('--x', '1w'), 604_800_000);
  for (const bad of ['', 'h', '1 h', '-1s', '1x', '1h junk', 'ms']) expectError(() => parseDuration('--mtbf', bad), 'HF_INVALID_ARG', '--mtbf must be a duration');
});

test('formatDuration picks a readable unit', () => {
  assert.equal(formatDuration(850), '850 ms');
  assert.equal(formatDuration(12_500), '12.5 s');
  assert.equal(formatDuration(252_000), '4.2 min');
  assert.equal(formatDuration(11_160_000), '3.1 h');
});
