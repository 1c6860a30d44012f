import assert from 'node:assert/strict';
import test from 'node:test';
import { mapConcurrent } from '../../src/io/map-concurrent.js';

test('results come back in input order with at most `limit` calls in flight', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const out = await mapConcurrent([5, 1, 4, 2, 3], 2, async (x) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setImmediate(r));
    inFlight--;
    return x * 10;
  });
  assert.deepEqual(out, [50, 10, 40, 20, 30]);
  assert.equal(maxInFlight, 2);
});

test('an error is thrown only after running calls settle, and no new call starts', async () => {
  const started: number[] = [];
  let settled = 0;
  await assert.rejects(
    mapConcurrent([0, 1, 2, 3], 2, async (x) => {
      started.push(x);
      if (x === 0) throw new Error('boom');
      await new Promise((r) => setImmediate(r));
      settled++;
      return x;
    }),
    /boom/,
  );
  assert.deepEqual(started, [0, 1]);
  assert.equal(settled, 1, 'the call running beside the failure finished before the rejection');
});

test('stopWhen stops starting new items', async () => {
  const seen: number[] = [];
  await mapConcurrent([1, 2, 3, 4, 5], 1, async (x) => (seen.push(x), x), { stopWhen: (r) => r === 2 });
  assert.deepEqual(seen, [1, 2]);
});

test('sizeOf starts the largest items first and keeps results in input order', async () => {
  const started: number[] = [];
  const out = await mapConcurrent([3, 9, 1, 9, 5], 1, async (x, i) => (started.push(i), x * 2), { sizeOf: (x) => x });
  assert.deepEqual(started, [1, 3, 4, 0, 2], 'largest first, ties in input order');
  assert.deepEqual(out, [6, 18, 2, 18, 10]);
});

test('first starts the items it picks before all others, each set still largest first', async () => {
  const started: number[] = [];
  const out = await mapConcurrent([3, 9, 1, 8, 5], 1, async (x, i) => (started.push(i), x), { sizeOf: (x) => x, first: (x) => x % 2 === 1 && x < 9 });
  assert.deepEqual(started, [4, 0, 2, 1, 3], 'picked 5, 3, 1 first (largest first), then 9, 8');
  assert.deepEqual(out, [3, 9, 1, 8, 5]);
});
