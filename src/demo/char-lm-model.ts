/**
 * The contract between the training loop (`CharLmRun`) and a model of the
 * character-level language model: plain JavaScript (`PlainCharModel`) or
 * TensorFlow.js (`TfjsCharModel`). The loop owns data, randomness, schedule,
 * loss scaling and accumulation counters; the model owns parameters,
 * optimizer state and the accumulated-gradient buffers, and must be
 * deterministic: the same state and batch give the same bits.
 */
import type { JsonValue } from '../format/manifest-types.js';
import type { CharBatch } from './char-corpus.js';
import type { Prng } from '../train/prng.js';
import type { JsonObject, OptimizerSlot, TensorMap } from '../train/train-state.js';

/** The run configuration; JSON, hashed into the checkpoint (a changed value is reported on resume). */
export interface CharLmConfig extends JsonObject {
  model: 'plain' | 'tfjs';
  seed: number;
  corpusSha256: string;
  vocabSize: number;
  contextLength: number;
  /** Hidden layer width (tfjs model); 0 for the plain softmax-regression model. */
  hiddenUnits: number;
  batchSize: number;
  /** Micro-batches per optimizer update. */
  accumSteps: number;
  /** Micro-batches in the whole run. */
  totalSteps: number;
  baseLr: number;
  minLr: number;
  /** In optimizer updates. */
  warmupSteps: number;
  /** Probability of masking each context character (augmentation drawn from the run's PRNG). */
  maskRate: number;
  adam: { beta1: number; beta2: number; epsilon: number };
  lossScale: { initial: number; growthInterval: number; maxScale: number };
}

/** What a model contributes to a `TrainState`. */
export interface ModelState {
  weights: TensorMap;
  optimizer: OptimizerSlot;
  /** Accumulated gradients; empty when none are pending. */
  gradAccum: TensorMap;
  framework: JsonObject | null;
}

export interface CharLmModel {
  readonly kind: 'plain' | 'tfjs';
  /** Forward and backward on `batch` with the loss scaled by `lossScale`; adds the scaled gradients to the accumulators; returns the unscaled mean loss. */
  accumulate(batch: CharBatch, lossScale: number): number;
  /** Divides the accumulated gradients by `divisor`; if all are finite takes one optimizer step at `lr`; clears the accumulators. Returns whether they were finite. */
  applyUpdate(lr: number, divisor: number): boolean;
  /** Mean loss of `batch` under the current weights; no gradient, no state change. */
  evaluate(batch: CharBatch): number;
  /** Copies of the model's part of the training state. */
  exportState(): Promise<ModelState>;
  /**
   * Loads a saved model state.
   * @throws HF_INCOMPATIBLE listing every difference in names, shapes, dtypes or optimizer.
   */
  importState(state: ModelState, step: number): Promise<void>;
  dispose(): void;
}

/** Glorot-uniform values for a [fanIn, fanOut] matrix, from our own PRNG (no framework randomness). */
export function glorotUniform(rng: Prng, fanIn: number, fanOut: number): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < out.length; i++) out[i] = (2 * rng.nextFloat() - 1) * limit;
  return out;
}

/** Input width of the one-hot context encoding: one slot per vocabulary id plus the mask id, per position. */
export function inputWidth(config: CharLmConfig): number {
  return config.contextLength * (config.vocabSize + 1);
}

export function isJsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
