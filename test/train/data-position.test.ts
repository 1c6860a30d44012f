/**
 * The data loader is a pure function of its position: stopping at any batch
 * boundary and continuing from the saved position yields exactly the indices
 * an uninterrupted loader would, across epoch boundaries.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { isHoldfastError } from '../../src/errors.js';
import { charCorpusFromText, makeCharBatch } from '../../src/train/char-corpus.js';
import { epochOrder, ShuffledSampler, validateDataPosition } from '../../src/train/data-position.js';
import { Prng } from '../../src/train/prng.js';

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

test('char corpus examples and masking are deterministic; masking draws the same count whatever it decides', () => {
  const corpus = charCorpusFromText('the tide goes out and the tide comes in', 4);
  assert.equal(corpus.exampleCount, corpus.ids.length - 4);
  const clean = makeCharBatch(corpus, [0, 5]);
  assert.deepEqual([...clean.contexts.slice(0, 4)].map((i) => corpus.vocab[i]).join(''), 'the ');
  assert.equal(corpus.vocab[clean.targets[0]!], 't');
  const a = Prng.fromSeed(1);
  const b = Prng.fromSeed(1);
  const masked = makeCharBatch(corpus, [0, 5, 9], { rng: a, maskRate: 0.5, maskId: corpus.vocab.length });
  assert.deepEqual(makeCharBatch(corpus, [0, 5, 9], { rng: b, maskRate: 0.5, maskId: corpus.vocab.length }), masked);
  assert.ok(masked.contexts.some((id) => id === corpus.vocab.length));
  const c = Prng.fromSeed(1);
  for (let i = 0; i < 12; i++) c.nextFloat();
  assert.deepEqual(a.state(), c.state(), 'one draw per context position');
});
