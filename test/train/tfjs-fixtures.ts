/** Small tfjs models and data for the tfjs tests, every value drawn from Holdfast's PRNG. */
import * as tf from '@tensorflow/tfjs';
import { Prng } from '../../src/train/prng.js';
import { initTfjsCpu } from '../../src/train/tfjs-env.js';

export interface TinyModelOptions {
  hidden?: number;
  optimizer?: () => tf.Optimizer;
}

/** dense1 (tanh) → dense2, compiled with MSE; weights from the PRNG so every build starts the same. */
export async function tinyModel(o: TinyModelOptions = {}): Promise<tf.LayersModel> {
  await initTfjsCpu();
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ name: 'dense1', inputShape: [5], units: o.hidden ?? 8, activation: 'tanh' }),
      tf.layers.dense({ name: 'dense2', units: 3 }),
    ],
  });
  const rng = Prng.fromSeed(9, 'tiny-model-init');
  const values = model.weights.map((w) => {
    const n = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
    return tf.tensor(Float32Array.from({ length: n }, () => rng.nextFloat() - 0.5), w.shape as number[]);
  });
  model.setWeights(values);
  tf.dispose(values);
  model.compile({ optimizer: (o.optimizer ?? (() => tf.train.adam(0.05)))(), loss: 'meanSquaredError' });
  return model;
}

/** Trains `steps` batches with `trainOnBatch` (the ordinary tfjs path); batch k is a function of k only. */
export async function trainTiny(model: tf.LayersModel, from: number, to: number): Promise<number[]> {
  const losses: number[] = [];
  for (let k = from; k < to; k++) {
    const rng = Prng.fromSeed(k, 'tiny-batch');
    const x = tf.tensor2d(Float32Array.from({ length: 16 * 5 }, () => rng.nextFloat() * 2 - 1), [16, 5]);
    const y = tf.tensor2d(Float32Array.from({ length: 16 * 3 }, () => rng.nextFloat()), [16, 3]);
    losses.push((await model.trainOnBatch(x, y)) as number);
    tf.dispose([x, y]);
  }
  return losses;
}

/** SHA-256-free exact fingerprint: every weight's bytes, concatenated, as hex. */
export function weightBytes(model: tf.LayersModel): string {
  return model.getWeights().map((w) => Buffer.from(w.dataSync().buffer.slice(0)).toString('hex')).join('|');
}
