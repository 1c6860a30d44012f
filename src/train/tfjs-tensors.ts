/**
 * Conversions between tfjs tensors and Holdfast tensors. tfjs has three
 * storable dtypes: float32 → F32, int32 → I32, bool → BOOL (one byte per
 * element in both); anything else is refused rather than silently cast.
 *
 * Contract: both directions copy. The CPU backend's `dataSync()` hands out
 * its live buffer and `tf.tensor(typedArray)` keeps the array it is given, so
 * sharing either way would let training and the checkpoint alias each other.
 */
import * as tf from '@tensorflow/tfjs';
import { invalidArg } from '../errors.js';
import type { DType, Tensor } from '../format/dtype.js';

type TfDType = 'float32' | 'int32' | 'bool';

function toHoldfastDType(dtype: string, what: string): DType {
  switch (dtype) {
    case 'float32': return 'F32';
    case 'int32': return 'I32';
    case 'bool': return 'BOOL';
    default: throw invalidArg(`${what}: tfjs dtype ${dtype} cannot be checkpointed (float32, int32 and bool can)`);
  }
}

function toTfjsDType(dtype: DType): TfDType | undefined {
  return dtype === 'F32' ? 'float32' : dtype === 'I32' ? 'int32' : dtype === 'BOOL' ? 'bool' : undefined;
}

/** A Holdfast copy of a tfjs tensor's values (the CPU backend hands out its live buffer). */
export function fromTfTensor(t: tf.Tensor, what: string): Tensor {
  const dtype = toHoldfastDType(t.dtype, what);
  const data = t.dataSync().slice() as Float32Array | Int32Array | Uint8Array;
  return { dtype, shape: [...t.shape], data };
}

/** A new tfjs tensor holding a copy of a Holdfast tensor. */
export function toTfTensor(t: Tensor, what: string): tf.Tensor {
  const dtype = toTfjsDType(t.dtype);
  if (dtype === undefined) throw invalidArg(`${what}: Holdfast dtype ${t.dtype} has no tfjs counterpart`);
  return tf.tensor(t.data.slice() as Float32Array | Int32Array | Uint8Array, [...t.shape], dtype);
}

/** The Holdfast dtype name of a tfjs dtype, for comparison with saved specs (unknown ones pass through and will differ). */
export function tfSpecDType(dtype: string): string {
  return ({ float32: 'F32', int32: 'I32', bool: 'BOOL' } as Record<string, string>)[dtype] ?? dtype;
}
