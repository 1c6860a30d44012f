/**
 * Seeded pseudo-random numbers for fault campaigns. Every crash state and
 * every injected fault is drawn from a `SeededRandom` built from the
 * campaign seed plus the indices that name the trial (crash point, subset
 * index, …), so a failure replays from the numbers printed with it
 * (TigerBeetle storage_fuzz; RocksDB `SetRandomWriteError(seed, …)`).
 *
 * Algorithm: xoshiro128** 1.1 (Blackman & Vigna,
 * https://prng.di.unimi.it/xoshiro128starstar.c): four 32-bit state words,
 * period 2^128 − 1, 32-bit operations only (no BigInt, so it is fast in V8).
 * Seeding: the seed and stream parts (non-negative integers below 2^53) are
 * folded into one 32-bit key with MurmurHash3's `fmix32`; the four state words
 * are then the SplitMix32 sequence from that key: `fmix32(key + i·0x9e3779b9)`
 * for i = 1..4. `fmix32` is a bijection and the four inputs differ, so at
 * most one word is zero and the forbidden all-zero state cannot occur.
 *
 * Not for cryptography.
 */

const GOLDEN_GAMMA = 0x9e3779b9;
const TWO_POW_32 = 0x1_0000_0000;

/** MurmurHash3 finalizer: a bijective avalanche mix of a 32-bit word. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function checkSeedPart(part: number): void {
  if (!Number.isSafeInteger(part) || part < 0) {
    throw new RangeError(`seed parts must be non-negative safe integers, got ${part}`);
  }
}

/** Folds integers (each < 2^53) into one 32-bit key; order matters. */
export function mixSeed(parts: readonly number[]): number {
  let key = 0x2545f491;
  for (const part of parts) {
    checkSeedPart(part);
    const lo = part >>> 0;
    const hi = Math.floor(part / TWO_POW_32) >>> 0;
    key = fmix32((key ^ fmix32(lo + GOLDEN_GAMMA)) + GOLDEN_GAMMA);
    key = fmix32((key ^ fmix32(hi ^ 0x7f4a7c15)) + GOLDEN_GAMMA);
  }
  return key;
}

export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A stream named by `seed` and optional sub-stream indices: `new SeededRandom(seed, crashPoint, subsetIndex)`. */
  constructor(seed: number, ...stream: number[]) {
    const key = mixSeed([seed, ...stream]);
    this.s0 = fmix32((key + GOLDEN_GAMMA) >>> 0);
    this.s1 = fmix32((key + 2 * GOLDEN_GAMMA) >>> 0);
    this.s2 = fmix32((key + 3 * GOLDEN_GAMMA) >>> 0);
    this.s3 = fmix32((key + 4 * GOLDEN_GAMMA) >>> 0);
  }

  /** A generator with an exact xoshiro128** state, for known-answer tests. */
  static fromState(state: readonly [number, number, number, number]): SeededRandom {
    if (state.every((w) => w >>> 0 === 0)) throw new RangeError('xoshiro128** state must not be all zero');
    const r = new SeededRandom(0);
    [r.s0, r.s1, r.s2, r.s3] = state.map((w) => w >>> 0) as [number, number, number, number];
    return r;
  }

  /** Uniform in [0, 2^32). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform integer in [0, maxExclusive), unbiased (rejection sampling); maxExclusive ≤ 2^32. */
  nextInt(maxExclusive: number): number {
    if (!Number.isInteger(maxExclusive) || maxExclusive <= 0 || maxExclusive > TWO_POW_32) {
      throw new RangeError(`nextInt bound must be an integer in [1, 2^32], got ${maxExclusive}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % maxExclusive;
    }
  }

  /** True with probability `p`. */
  nextBool(p = 0.5): boolean {
    return this.nextFloat() < p;
  }

  /** Fills `into` with random bytes; returns it. */
  fillBytes(into: Uint8Array): Uint8Array {
    let i = 0;
    for (; i + 4 <= into.length; i += 4) {
      const x = this.nextUint32();
      into[i] = x & 0xff;
      into[i + 1] = (x >>> 8) & 0xff;
      into[i + 2] = (x >>> 16) & 0xff;
      into[i + 3] = x >>> 24;
    }
    if (i < into.length) {
      let x = this.nextUint32();
      for (; i < into.length; i++, x >>>= 8) into[i] = x & 0xff;
    }
    return into;
  }
}
