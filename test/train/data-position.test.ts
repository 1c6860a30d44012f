/**
 * The data loader is a pure function of its position: stopping at any batch
 * boundary and continuing from the saved position yields exactly the indices
 * an uninterrupted loader would, across epoch boundaries.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { epochOrder, ShuffledSampler, validateDataPosition } from '../../src/train/data-position.js';

test('resuming from a saved position continues the exact index stream, across epochs', () => {
  const start = { epoch: 0, index: 0, shuffleSeed: 11 };
  const whole = new ShuffledSampler(37, start);
  const expected = Array.from({ length: 20 }, () => whole.next(5));
  for (const cut of [1, 7, 8, 13]) {
    const first = new ShuffledSampler(37, start);
    for (let i = 0; i < cut; i++) first.next(5);
    const saved = JSON.parse(JSON.stringify(first.position())) as unknown;
    const resumed = new ShuffledSampler(37, validateDataPosition(saved));
    for (let i = cut; i < 20; i++) assert.deepEqual(resumed.next(5), expected[i], `batch ${i} after cutting at ${cut}`);
  }
  assert.equal(whole.position().epoch, 2, '100 draws of 37 examples span three epochs');
});

test('each epoch is a different permutation, fixed by (seed, epoch)', () => {
  const e0 = epochOrder(50, 3, 0);
  const e1 = epochOrder(50, 3, 1);
  assert.deepEqual([...e0].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual([...e0], [...e1]);
  assert.deepEqual([...epochOrder(50, 3, 1)], [...e1]);
  assert.notDeepEqual([...epochOrder(50, 4, 0)], [...e0]);
});

test('positions are validated', () => {
  for (const bad of [null, { epoch: -1, index: 0, shuffleSeed: 1 }, { epoch: 0, index: 1.5, shuffleSeed: 1 }, { epoch: 0, index: 0 }]) {
    assert.throws(() => validateDataPosition(bad), (e) => isHoldfastError(e, 'HF_FORMAT'));
  }
  assert.throws(() => new ShuffledSampler(10, { epoch: 0, index: 11, shuffleSeed: 1 }), (e) => isHoldfastError(e, 'HF_INVALID_ARG'));
});
