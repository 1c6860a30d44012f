/**
 * The framework-free model: softmax regression from a one-hot encoded
 * character context to the next character, trained with `adamUpdate`. It is
 * small and boring on purpose: every number is a Float32Array element
 * computed by code in this file, so bit-exact resume depends on nothing but
 * the saved state.
 *
 * Parameters: W [contextLength·(vocab+1), vocab] and b [vocab]; logits of an
 * example are b plus the W rows its context characters select.
 *
 * Contract: deterministic and single-threaded; rows and classes are visited
 * in index order; sums run in double precision and are stored as float32.
 */
import type { CharBatch } from './char-corpus.js';
import { glorotUniform, inputWidth, isJsonEqual, type CharLmConfig, type CharLmModel, type ModelState } from './char-lm-model.js';
import { adamUpdate, type AdamHyper } from './plain-adam.js';
import { Prng } from '../train/prng.js';
import { diffTensorSpecs, refuseIfDifferent, type TensorSpec } from '../train/tensor-compat.js';
import type { TensorMap } from '../train/train-state.js';

export class PlainCharModel implements CharLmModel {
  readonly kind = 'plain' as const;
  readonly #vocab: number;
  readonly #inputs: number;
  readonly #hyper: AdamHyper;
  #w: Float32Array;
  #b: Float32Array;
  #mW: Float32Array;
  #vW: Float32Array;
  #mB: Float32Array;
  #vB: Float32Array;
  #gW: Float32Array;
  #gB: Float32Array;
  #pending = false;
  /** Adam's step counter: updates taken so far. */
  #t = 0;

  constructor(config: CharLmConfig) {
    this.#vocab = config.vocabSize;
    this.#inputs = inputWidth(config);
    this.#hyper = { ...config.adam };
    this.#w = glorotUniform(Prng.fromSeed(config.seed, 'init/W'), this.#inputs, this.#vocab);
    this.#b = new Float32Array(this.#vocab);
    this.#mW = new Float32Array(this.#w.length);
    this.#vW = new Float32Array(this.#w.length);
    this.#mB = new Float32Array(this.#vocab);
    this.#vB = new Float32Array(this.#vocab);
    this.#gW = new Float32Array(this.#w.length);
    this.#gB = new Float32Array(this.#vocab);
  }

  /** Row of W selected by context position k holding character id c. */
  #rowOffset(k: number, c: number): number {
    return (k * (this.#vocab + 1) + c) * this.#vocab;
  }

  #logits(batch: CharBatch, row: number, out: Float64Array): void {
    const V = this.#vocab;
    for (let v = 0; v < V; v++) out[v] = this.#b[v]!;
    for (let k = 0; k < batch.contextLength; k++) {
      const off = this.#rowOffset(k, batch.contexts[row * batch.contextLength + k]!);
      for (let v = 0; v < V; v++) out[v] = out[v]! + this.#w[off + v]!;
    }
  }

  static #logSumExp(logits: Float64Array): number {
    let max = -Infinity;
    for (const x of logits) if (x > max) max = x;
    let sum = 0;
    for (const x of logits) sum += Math.exp(x - max);
    return max + Math.log(sum);
  }

  accumulate(batch: CharBatch, lossScale: number): number {
    const V = this.#vocab;
    const logits = new Float64Array(V);
    let lossSum = 0;
    for (let row = 0; row < batch.size; row++) {
      this.#logits(batch, row, logits);
      const lse = PlainCharModel.#logSumExp(logits);
      const target = batch.targets[row]!;
      lossSum += lse - logits[target]!;
      for (let v = 0; v < V; v++) {
        const d = ((Math.exp(logits[v]! - lse) - (v === target ? 1 : 0)) * lossScale) / batch.size;
        this.#gB[v] = this.#gB[v]! + d;
        for (let k = 0; k < batch.contextLength; k++) {
          const i = this.#rowOffset(k, batch.contexts[row * batch.contextLength + k]!) + v;
          this.#gW[i] = this.#gW[i]! + d;
        }
      }
    }
    this.#pending = true;
    return lossSum / batch.size;
  }

  applyUpdate(lr: number, divisor: number): boolean {
    const gW = this.#gW.map((g) => g / divisor);
    const gB = this.#gB.map((g) => g / divisor);
    const finite = gW.every(Number.isFinite) && gB.every(Number.isFinite);
    if (finite) {
      this.#t += 1;
      adamUpdate(this.#w, gW, this.#mW, this.#vW, this.#t, lr, this.#hyper);
      adamUpdate(this.#b, gB, this.#mB, this.#vB, this.#t, lr, this.#hyper);
    }
    this.#gW.fill(0);
    this.#gB.fill(0);
    this.#pending = false;
    return finite;
  }

  evaluate(batch: CharBatch): number {
    const logits = new Float64Array(this.#vocab);
    let lossSum = 0;
    for (let row = 0; row < batch.size; row++) {
      this.#logits(batch, row, logits);
      lossSum += PlainCharModel.#logSumExp(logits) - logits[batch.targets[row]!]!;
    }
    return lossSum / batch.size;
  }

  #specs(): Record<string, TensorSpec> {
    return { W: { dtype: 'F32', shape: [this.#inputs, this.#vocab] }, b: { dtype: 'F32', shape: [this.#vocab] } };
  }

  exportState(): Promise<ModelState> {
    const [wShape, bShape] = [[this.#inputs, this.#vocab], [this.#vocab]];
    const gradAccum: TensorMap = {};
    const t = (data: Float32Array, shape: number[]): TensorMap[string] => ({ dtype: 'F32', shape, data: data.slice() });
    return Promise.resolve({
      weights: { W: t(this.#w, wShape), b: t(this.#b, bShape) },
      optimizer: {
        tensors: { 'W/m': t(this.#mW, wShape), 'W/v': t(this.#vW, wShape), 'b/m': t(this.#mB, bShape), 'b/v': t(this.#vB, bShape) },
        scalars: { className: 'Adam', t: this.#t, beta1: this.#hyper.beta1, beta2: this.#hyper.beta2, epsilon: this.#hyper.epsilon },
      },
      gradAccum: this.#pending ? { W: t(this.#gW, wShape), b: t(this.#gB, bShape) } : gradAccum,
      framework: null,
    });
  }

  importState(state: ModelState, step: number): Promise<void> {
    const specs = this.#specs();
    const optSpecs = { 'W/m': specs['W']!, 'W/v': specs['W']!, 'b/m': specs['b']!, 'b/v': specs['b']! };
    const differences = [
      ...diffTensorSpecs(specs, state.weights).map((d) => `weights/${d}`),
      ...diffTensorSpecs(optSpecs, state.optimizer.tensors).map((d) => `optimizer/${d}`),
    ];
    if (Object.keys(state.gradAccum).length > 0) differences.push(...diffTensorSpecs(specs, state.gradAccum).map((d) => `gradAccum/${d}`));
    const s = state.optimizer.scalars;
    if (s['className'] !== 'Adam') differences.push(`optimizer: checkpoint has ${JSON.stringify(s['className'])}, the model uses Adam`);
    for (const key of ['beta1', 'beta2', 'epsilon'] as const) {
      if (!isJsonEqual(s[key], this.#hyper[key])) differences.push(`optimizer config ${key}: checkpoint ${JSON.stringify(s[key])}, model ${this.#hyper[key]}`);
    }
    if (!Number.isSafeInteger(s['t']) || (s['t'] as number) < 0) differences.push(`optimizer: step counter t ${JSON.stringify(s['t'])} is not a non-negative integer`);
    refuseIfDifferent(differences, 'plain model checkpoint', step);
    const f32 = (m: TensorMap, name: string): Float32Array => (m[name]!.data as Float32Array).slice();
    this.#w = f32(state.weights, 'W');
    this.#b = f32(state.weights, 'b');
    this.#mW = f32(state.optimizer.tensors, 'W/m');
    this.#vW = f32(state.optimizer.tensors, 'W/v');
    this.#mB = f32(state.optimizer.tensors, 'b/m');
    this.#vB = f32(state.optimizer.tensors, 'b/v');
    this.#t = s['t'] as number;
    this.#pending = Object.keys(state.gradAccum).length > 0;
    this.#gW = this.#pending ? f32(state.gradAccum, 'W') : new Float32Array(this.#w.length);
    this.#gB = this.#pending ? f32(state.gradAccum, 'b') : new Float32Array(this.#vocab);
    return Promise.resolve();
  }

  dispose(): void {
    // Plain arrays; the garbage collector frees them.
  }
}
