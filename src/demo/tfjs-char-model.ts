/**
 * The TensorFlow.js model of the character-level language model: a
 * `tf.LayersModel` (one-hot context → dense tanh → dense softmax) trained by
 * a custom step (`tf.variableGrads` + `optimizer.applyGradients`) so that the
 * loop can scale the loss and accumulate gradients over micro-batches, as a
 * real mixed-precision, large-batch recipe does.
 *
 * Why custom initial weights: they are drawn from Holdfast's `Prng`, not from
 * tfjs initializers, so "no Math.random, seeded everything" is checkable in
 * this file. Why softmax + categoricalCrossentropy: it is what `compile`
 * records, so a checkpoint loaded with `tf.loadLayersModel(holdfast(store))`
 * comes back compiled with the loss it was trained with.
 *
 * Contract: deterministic on the tfjs CPU backend (call `initTfjsCpu` first,
 * `TfjsCharModel.create` does); one model per instance; `dispose` frees it.
 */
import * as tf from '@tensorflow/tfjs';
import type { CharBatch } from './char-corpus.js';
import { glorotUniform, inputWidth, type CharLmConfig, type CharLmModel, type ModelState } from './char-lm-model.js';
import { Prng } from '../train/prng.js';
import { diffTensorSpecs, refuseIfDifferent, type TensorSpec } from '../train/tensor-compat.js';
import { applyTfjsModel, captureTfjsModel, tfjsCompatibilityDifferences } from '../train/tfjs-checkpoint.js';
import { setOptimizerLearningRate } from '../train/tfjs-optimizer-state.js';
import { fromTfTensor, toTfTensor } from '../train/tfjs-tensors.js';
import { initTfjsCpu } from '../train/tfjs-env.js';
import type { TensorMap } from '../train/train-state.js';

/** Builds the layers model for `config` (weights from the PRNG, compiled with Adam). */
export function buildCharLmLayersModel(config: CharLmConfig): tf.LayersModel {
  const model = tf.sequential({
    name: 'charlm',
    layers: [
      tf.layers.dense({ name: 'hidden', inputShape: [inputWidth(config)], units: config.hiddenUnits, activation: 'tanh' }),
      tf.layers.dense({ name: 'out', units: config.vocabSize, activation: 'softmax' }),
    ],
  });
  const init = model.weights.map((w) => {
    const [fanIn, fanOut] = w.shape.length === 2 ? [w.shape[0]!, w.shape[1]!] : [0, w.shape[0]!];
    // Biases start at zero; kernels are Glorot-uniform from a stream named after the weight.
    const values = fanIn === 0 ? new Float32Array(fanOut) : glorotUniform(Prng.fromSeed(config.seed, `init/${w.originalName}`), fanIn, fanOut);
    return tf.tensor(values, w.shape as number[], 'float32');
  });
  model.setWeights(init);
  tf.dispose(init);
  const optimizer = tf.train.adam(config.baseLr, config.adam.beta1, config.adam.beta2, config.adam.epsilon);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  return model;
}

export class TfjsCharModel implements CharLmModel {
  readonly kind = 'tfjs' as const;
  readonly model: tf.LayersModel;
  readonly optimizer: tf.Optimizer;
  readonly #config: CharLmConfig;
  readonly #vars: tf.Variable[];
  /** Accumulated scaled gradients, by variable name, in trainable-weight order. */
  #accum = new Map<string, tf.Tensor>();

  private constructor(config: CharLmConfig) {
    this.#config = config;
    this.model = buildCharLmLayersModel(config);
    this.optimizer = this.model.optimizer;
    this.#vars = this.model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  static async create(config: CharLmConfig): Promise<TfjsCharModel> {
    await initTfjsCpu();
    return new TfjsCharModel(config);
  }

  #inputs(batch: CharBatch): { x: tf.Tensor2D; y: tf.Tensor2D } {
    const V = this.#config.vocabSize;
    const width = inputWidth(this.#config);
    const x = new Float32Array(batch.size * width);
    const y = new Float32Array(batch.size * V);
    for (let row = 0; row < batch.size; row++) {
      for (let k = 0; k < batch.contextLength; k++) x[row * width + k * (V + 1) + batch.contexts[row * batch.contextLength + k]!] = 1;
      y[row * V + batch.targets[row]!] = 1;
    }
    return { x: tf.tensor2d(x, [batch.size, width]), y: tf.tensor2d(y, [batch.size, V]) };
  }

  #loss(x: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar {
    return tf.mean(tf.metrics.categoricalCrossentropy(y, this.model.apply(x) as tf.Tensor)) as tf.Scalar;
  }

  accumulate(batch: CharBatch, lossScale: number): number {
    const { x, y } = this.#inputs(batch);
    const { value, grads } = tf.variableGrads(() => tf.mul(this.#loss(x, y), lossScale) as tf.Scalar, this.#vars);
    const scaledLoss = value.dataSync()[0]!;
    tf.dispose([x, y, value]);
    for (const [name, g] of Object.entries(grads)) {
      const prev = this.#accum.get(name);
      if (prev === undefined) this.#accum.set(name, g);
      else {
        this.#accum.set(name, tf.add(prev, g));
        tf.dispose([prev, g]);
      }
    }
    // The scale is a power of two, so this division is exact.
    return scaledLoss / lossScale;
  }

  applyUpdate(lr: number, divisor: number): boolean {
    const scaled: tf.NamedTensorMap = {};
    for (const [name, g] of this.#accum) scaled[name] = tf.div(g, divisor);
    const finite = Object.values(scaled).every((g) => tf.tidy(() => tf.all(tf.isFinite(g)).dataSync()[0] === 1));
    if (finite) {
      setOptimizerLearningRate(this.optimizer, lr);
      this.optimizer.applyGradients(scaled);
    }
    tf.dispose([...Object.values(scaled), ...this.#accum.values()]);
    this.#accum.clear();
    return finite;
  }

  evaluate(batch: CharBatch): number {
    const { x, y } = this.#inputs(batch);
    const loss = tf.tidy(() => this.#loss(x, y).dataSync()[0]!);
    tf.dispose([x, y]);
    return loss;
  }

  async exportState(): Promise<ModelState> {
    const captured = await captureTfjsModel(this.model, { optimizer: this.optimizer });
    const originalOf = new Map(this.model.trainableWeights.map((w) => [w.name, w.originalName]));
    const gradAccum: TensorMap = {};
    for (const [name, g] of this.#accum) gradAccum[originalOf.get(name)!] = fromTfTensor(g, `accumulated gradient ${name}`);
    return { weights: captured.weights, optimizer: captured.optimizer!, gradAccum, framework: captured.framework };
  }

  async importState(state: ModelState, step: number): Promise<void> {
    const trainable: Record<string, TensorSpec> = {};
    for (const w of this.model.trainableWeights) trainable[w.originalName] = { dtype: 'F32', shape: w.shape as number[] };
    const differences = tfjsCompatibilityDifferences(this.model, { ...state, framework: state.framework ?? {} }, { optimizer: this.optimizer });
    if (Object.keys(state.gradAccum).length > 0) differences.push(...diffTensorSpecs(trainable, state.gradAccum).map((d) => `gradAccum/${d}`));
    refuseIfDifferent(differences, 'tfjs checkpoint', step);
    await applyTfjsModel(this.model, { ...state, framework: state.framework ?? {} }, { optimizer: this.optimizer, step });
    tf.dispose([...this.#accum.values()]);
    this.#accum.clear();
    for (const w of this.model.trainableWeights) {
      const saved = state.gradAccum[w.originalName];
      if (saved !== undefined) this.#accum.set(w.name, toTfTensor(saved, `accumulated gradient ${w.originalName}`));
    }
  }

  dispose(): void {
    tf.dispose([...this.#accum.values()]);
    this.#accum.clear();
    this.optimizer.dispose();
    this.model.dispose();
  }
}
