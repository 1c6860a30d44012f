/** The demo's character corpus: examples and masking are a pure function of the indices and the PRNG. */
import assert from 'node:assert/strict';
import test from 'node:test';
import { charCorpusFromText, makeCharBatch } from '../../src/demo/char-corpus.js';
import { Prng } from '../../src/train/prng.js';

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
