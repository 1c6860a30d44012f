import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeededRandom, mixSeed } from '../../src/fs/seeded-random.js';

describe('SeededRandom', () => {
  it('is xoshiro128** (known answers from state 1,2,3,4)', () => {
    const r = SeededRandom.fromState([1, 2, 3, 4]);
    assert.deepEqual([r.nextUint32(), r.nextUint32(), r.nextUint32(), r.nextUint32()], [11520, 0, 5927040, 70819200]);
  });

  it('replays: the same seed and stream give the same numbers; other streams differ', () => {
    const draw = (...key: number[]): number[] => {
      const r = new SeededRandom(key[0]!, ...key.slice(1));
      return Array.from({ length: 8 }, () => r.nextUint32());
    };
    assert.deepEqual(draw(42, 3, 7), draw(42, 3, 7));
    assert.notDeepEqual(draw(42, 3, 7), draw(42, 7, 3));
    assert.notDeepEqual(draw(42), draw(43));
    assert.notEqual(mixSeed([1, 2]), mixSeed([1, 2, 0]));
    assert.notEqual(mixSeed([2 ** 40]), mixSeed([0]));
  });

  it('nextInt stays in range and covers it; nextFloat is in [0, 1)', () => {
    const r = new SeededRandom(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const x = r.nextInt(10);
      assert.ok(x >= 0 && x < 10);
      seen.add(x);
      const f = r.nextFloat();
      assert.ok(f >= 0 && f < 1);
    }
    assert.equal(seen.size, 10);
    assert.throws(() => r.nextInt(0), RangeError);
    assert.throws(() => new SeededRandom(-1), RangeError);
  });

  it('fillBytes fills every byte, including a ragged tail', () => {
    const bytes = new SeededRandom(1).fillBytes(new Uint8Array(4099));
    assert.ok(bytes.subarray(4096).some((b) => b !== 0) || bytes.subarray(4090).some((b) => b !== 0));
    assert.ok(bytes.filter((b) => b === 0).length < 64);
  });
});
