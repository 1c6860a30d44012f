/**
 * Where the data pipeline is: epoch, index into that epoch's shuffled order,
 * and the seed the order is drawn from. With these three numbers and the
 * dataset size, `ShuffledSampler` yields exactly the examples an uninterrupted
 * run would have seen next; this is the "data-loader position" a checkpoint
 * must hold so that a resumed run neither repeats nor skips examples.
 *
 * Contract: the order of epoch e is a function of (shuffleSeed, e,
 * exampleCount) only: `Prng.fromSeed(shuffleSeed, "shuffle/epoch-<e>")`
 * shuffling 0..n-1. No hidden iterator state exists, so a position saved at
 * any batch boundary resumes exactly. Single-threaded; not shared between loops.
 */
import { formatError, invalidArg } from '../errors.js';
import { Prng } from './prng.js';

export interface DataPosition {
  /** Epochs completed (0-based number of the current epoch). */
  epoch: number;
  /** Examples of the current epoch already handed out: index into its shuffled order. */
  index: number;
  /** Seed of every epoch's shuffle. */
  shuffleSeed: number;
}

/**
 * Checks the JSON form of a data position.
 * @throws HF_FORMAT naming the bad field.
 */
export function validateDataPosition(x: unknown, where = 'data position'): DataPosition {
  const o = x as Partial<DataPosition> | null;
  if (o === null || typeof o !== 'object') throw formatError(`${where} must be an object`);
  for (const key of ['epoch', 'index', 'shuffleSeed'] as const) {
    const v = o[key];
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw formatError(`${where}: ${key} must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return { epoch: o.epoch!, index: o.index!, shuffleSeed: o.shuffleSeed! };
}

/** Hands out example indices in a per-epoch shuffled order, from a saved position. */
export class ShuffledSampler {
  readonly exampleCount: number;
  #position: DataPosition;
  #order: Uint32Array;
  #orderEpoch: number;

  /**
   * @throws HF_INVALID_ARG when the dataset is empty or the position lies past the end of its epoch.
   */
  constructor(exampleCount: number, position: DataPosition) {
    if (!Number.isSafeInteger(exampleCount) || exampleCount < 1 || exampleCount >= 2 ** 32) {
      throw invalidArg(`sampler: exampleCount ${exampleCount} must be an integer in [1, 2^32)`);
    }
    const p = validateDataPosition(position);
    if (p.index > exampleCount) throw invalidArg(`sampler: index ${p.index} is past the ${exampleCount} examples of an epoch`);
    this.exampleCount = exampleCount;
    this.#position = p;
    this.#order = epochOrder(exampleCount, p.shuffleSeed, p.epoch);
    this.#orderEpoch = p.epoch;
  }

  /** A copy of the current position (what to save). */
  position(): DataPosition {
    return { ...this.#position };
  }

  /** The next `batchSize` example indices; a batch may run over into the next epoch. */
  next(batchSize: number): number[] {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw invalidArg(`sampler: batch size ${batchSize} must be a positive integer`);
    const out: number[] = [];
    while (out.length < batchSize) {
      if (this.#position.index >= this.exampleCount) {
        this.#position = { ...this.#position, epoch: this.#position.epoch + 1, index: 0 };
      }
      if (this.#orderEpoch !== this.#position.epoch) {
        this.#order = epochOrder(this.exampleCount, this.#position.shuffleSeed, this.#position.epoch);
        this.#orderEpoch = this.#position.epoch;
      }
      out.push(this.#order[this.#position.index]!);
      this.#position = { ...this.#position, index: this.#position.index + 1 };
    }
    return out;
  }
}

/** The shuffled order of one epoch: a permutation of 0..exampleCount-1. */
export function epochOrder(exampleCount: number, shuffleSeed: number, epoch: number): Uint32Array {
  const order = new Uint32Array(exampleCount);
  for (let i = 0; i < exampleCount; i++) order[i] = i;
  return Prng.fromSeed(shuffleSeed, `shuffle/epoch-${epoch}`).shuffle(order);
}
