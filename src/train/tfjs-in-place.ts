/**
 * Where a tfjs variable keeps its values, for restoring in place. The CPU
 * backend holds each tensor's values in one plain typed array, shared by
 * every tensor with the same data id (tfjs `clone` and `assign` share rather
 * than copy). Contract: `ownValues(v)` returns the array holding `v`'s values
 * after making it `v`'s alone (a variable sharing its data is first given a
 * fresh zeroed array, so filling it changes no other tensor), or undefined on
 * any other backend (WebGL, WASM, tfjs-node keep values where a typed array
 * cannot reach them).
 */
import * as tf from '@tensorflow/tfjs';

type TfValues = Float32Array | Int32Array | Uint8Array;

interface CpuBackendData {
  data: { get(dataId: object): { values?: unknown } | undefined };
  refCount(dataId: object): number;
}

export function onCpuBackend(): boolean {
  return tf.getBackend() === 'cpu';
}

export function ownValues(v: tf.Variable): TfValues | undefined {
  if (!onCpuBackend()) return undefined;
  const backend = tf.backend() as unknown as CpuBackendData;
  if (backend.refCount(v.dataId) !== 1) {
    const fresh = tf.zeros(v.shape, v.dtype);
    v.assign(fresh);
    fresh.dispose();
  }
  const values = backend.data.get(v.dataId)?.values;
  return values instanceof Float32Array || values instanceof Int32Array || values instanceof Uint8Array ? values : undefined;
}
