/**
 * A seedable pseudo-random generator whose whole state is four 32-bit words,
 * so it can be written into a checkpoint as JSON and resumed bit for bit.
 *
 * Contract: the same seed (and stream label) gives the same sequence on every
 * machine and Node version, because only 32-bit integer arithmetic is used
 * (`Math.imul`, shifts, xor); floats are made from integer bits, never from
 * `Math.random`. `state()` after n draws, restored with `Prng.fromState`,
 * continues exactly where the original would have. Not for cryptography.
 *
 * Algorithm: xoshiro128** 1.1 (Blackman & Vigna), period 2^128 − 1. Seeding
 * takes the first 16 bytes of SHA-256 over the seed and a stream label, so
 * `Prng.fromSeed(7, 'shuffle/epoch-3')` and `Prng.fromSeed(7, 'dropout')` are
 * independent streams derived from one run seed.
 */
import { createHash } from 'node:crypto';
import { formatError, invalidArg } from '../errors.js';

const PRNG_ALGORITHM = 'xoshiro128**';

/** The JSON form of a generator: what a checkpoint stores. */
export interface PrngState {
  algorithm: typeof PRNG_ALGORITHM;
  /** The four state words, each an unsigned 32-bit integer, not all zero. */
  s: [number, number, number, number];
}

const TWO_POW_32 = 2 ** 32;

export class Prng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  private constructor(words: readonly number[]) {
    this.#s0 = words[0]! >>> 0;
    this.#s1 = words[1]! >>> 0;
    this.#s2 = words[2]! >>> 0;
    this.#s3 = words[3]! >>> 0;
  }

  /**
   * A generator seeded from `seed` (a safe integer or a string) and an
   * optional stream label.
   * @throws HF_INVALID_ARG when the seed is neither a safe integer nor a string.
   */
  static fromSeed(seed: number | string, stream = ''): Prng {
    if (typeof seed === 'number' && !Number.isSafeInteger(seed)) throw invalidArg(`PRNG seed ${seed} is not a safe integer`);
    if (typeof seed !== 'number' && typeof seed !== 'string') throw invalidArg('PRNG seed must be a safe integer or a string');
    // The type tag keeps seed 1 and seed "1" apart.
    const digest = createHash('sha256').update(`holdfast-prng/v1\0${typeof seed}\0${String(seed)}\0${stream}`).digest();
    const words = [0, 1, 2, 3].map((i) => digest.readUInt32LE(i * 4));
    // An all-zero state is the one fixed point of xoshiro; SHA-256 will not
    // produce it in practice, but the generator must never be able to stall.
    if (!words.some((w) => w !== 0)) words[0] = 1;
    return new Prng(words);
  }

  /**
   * A generator continuing from a saved state.
   * @throws HF_FORMAT when `state` is not a valid `PrngState`.
   */
  static fromState(state: unknown): Prng {
    return new Prng(validatePrngState(state).s);
  }

  /** The current state, a fresh JSON-ready object. */
  state(): PrngState {
    return { algorithm: PRNG_ALGORITHM, s: [this.#s0, this.#s1, this.#s2, this.#s3] };
  }

  /** A copy that continues independently from the same point. */
  clone(): Prng {
    return new Prng([this.#s0, this.#s1, this.#s2, this.#s3]);
  }

  /** The next unsigned 32-bit integer. */
  nextUint32(): number {
    const s1 = this.#s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    this.#s2 = (this.#s2 ^ this.#s0) >>> 0;
    this.#s3 = (this.#s3 ^ s1) >>> 0;
    this.#s1 = (s1 ^ this.#s2) >>> 0;
    this.#s0 = (this.#s0 ^ this.#s3) >>> 0;
    this.#s2 = (this.#s2 ^ t) >>> 0;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /**
   * A float in [0, 1) with 24 random bits, so it is exactly representable as a
   * float32 too (a tensor filled from it holds exactly these values).
   */
  nextFloat(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /**
   * An integer uniform in [0, n), without modulo bias (rejection sampling).
   * @throws HF_INVALID_ARG unless 1 ≤ n ≤ 2^32 is an integer.
   */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) throw invalidArg(`nextInt(${n}): n must be an integer in [1, 2^32]`);
    // Values at or above `limit` would make the low residues more likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Shuffles `items` (a number array or an integer typed array) in place, Fisher–Yates, and returns it. */
  shuffle<A extends { length: number; [i: number]: number }>(items: A): A {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * Checks the JSON form of a generator state and returns it typed.
 * @throws HF_FORMAT naming what is wrong.
 */
export function validatePrngState(state: unknown): PrngState {
  const o = state as Partial<PrngState> | null;
  if (o === null || typeof o !== 'object') throw formatError('PRNG state must be an object');
  if (o.algorithm !== PRNG_ALGORITHM) throw formatError(`PRNG state: algorithm ${JSON.stringify(o.algorithm)} is not ${PRNG_ALGORITHM}`);
  const s = o.s;
  if (!Array.isArray(s) || s.length !== 4 || !s.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_POW_32)) {
    throw formatError('PRNG state: s must be four unsigned 32-bit integers');
  }
  if (s.every((w) => w === 0)) throw formatError('PRNG state: s is all zero, which xoshiro cannot leave');
  return { algorithm: PRNG_ALGORITHM, s: [s[0]!, s[1]!, s[2]!, s[3]!] };
}
