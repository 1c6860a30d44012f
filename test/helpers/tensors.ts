/** Deterministic tensors of every dtype for round-trip tests. */
import type { Tensor } from '../../src/format/dtype.js';

export function sampleTensors(seed = 1): Record<string, Tensor> {
  let x = seed >>> 0;
  const next = (): number => {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return x;
  };
  const u8 = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => next() & 0xff);
  return {
    'f64': { dtype: 'F64', shape: [3, 2], data: Float64Array.from({ length: 6 }, () => next() / 7) },
    'f32.weight': { dtype: 'F32', shape: [4, 5], data: Float32Array.from({ length: 20 }, () => (next() / 2 ** 32) - 0.5) },
    'f16': { dtype: 'F16', shape: [7], data: Uint16Array.from({ length: 7 }, () => next() & 0xffff) },
    'bf16': { dtype: 'BF16', shape: [2, 3], data: Uint16Array.from({ length: 6 }, () => next() & 0xffff) },
    'i64': { dtype: 'I64', shape: [3], data: BigInt64Array.from([-(2n ** 62n), 0n, BigInt(next())]) },
    'i32': { dtype: 'I32', shape: [5], data: Int32Array.from({ length: 5 }, () => next() | 0) },
    'i16': { dtype: 'I16', shape: [3], data: Int16Array.from([-32768, 1, 32767]) },
    'i8': { dtype: 'I8', shape: [3], data: Int8Array.from([-128, 0, 127]) },
    'u8': { dtype: 'U8', shape: [9], data: u8(9) },
    'bool': { dtype: 'BOOL', shape: [4], data: Uint8Array.from([1, 0, 0, 1]) },
    'scalar': { dtype: 'F32', shape: [], data: Float32Array.from([Math.PI]) },
    'empty': { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    'odd.bytes': { dtype: 'U8', shape: [3], data: u8(3) },
    'after.odd': { dtype: 'F64', shape: [2], data: Float64Array.from([1.5, -2.25]) },
  };
}

export function bytesOf(t: Tensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}
