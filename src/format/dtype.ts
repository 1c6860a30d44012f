/** Safetensors dtypes Holdfast stores, their element sizes and typed-array views. */
import { HoldfastError, invalidArg, type HoldfastErrorCode } from '../errors.js';

export const DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'] as const;
export type DType = (typeof DTYPES)[number];

/** F16 and BF16 travel as raw 16-bit patterns (JS has no half floats); BOOL as one byte per element. */
export type TensorData =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

const ELEMENT_BYTES: Record<DType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

export function elementBytes(dtype: DType): number {
  return ELEMENT_BYTES[dtype];
}

/** Number of elements of `shape`, checked: every dim a safe non-negative integer and the product safe. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw invalidArg(`shape dimension ${String(d)} is not a non-negative integer`);
    n *= d;
    if (!Number.isSafeInteger(n)) throw invalidArg(`shape [${shape.join(', ')}] has more elements than 2^53`);
  }
  return n;
}

export function byteLengthOf(dtype: DType, shape: readonly number[]): number {
  const n = elementCount(shape) * ELEMENT_BYTES[dtype];
  if (!Number.isSafeInteger(n)) throw invalidArg(`tensor of shape [${shape.join(', ')}] is larger than 2^53 bytes`);
  return n;
}

/** A view of `bytes` as the typed array for `dtype`; copies only when `bytes` is misaligned for it. */
export function typedArrayFor(dtype: DType, bytes: Uint8Array): TensorData {
  const size = ELEMENT_BYTES[dtype];
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const { buffer, byteOffset, byteLength } = aligned;
  const n = byteLength / size;
  switch (dtype) {
    case 'F64': return new Float64Array(buffer, byteOffset, n);
    case 'F32': return new Float32Array(buffer, byteOffset, n);
    case 'F16':
    case 'BF16': return new Uint16Array(buffer, byteOffset, n);
    case 'I64': return new BigInt64Array(buffer, byteOffset, n);
    case 'I32': return new Int32Array(buffer, byteOffset, n);
    case 'I16': return new Int16Array(buffer, byteOffset, n);
    case 'I8': return new Int8Array(buffer, byteOffset, n);
    case 'U8':
    case 'BOOL': return new Uint8Array(buffer, byteOffset, n);
  }
}

const ARRAY_TYPE: Record<DType, string> = {
  F64: 'Float64Array', F32: 'Float32Array', F16: 'Uint16Array', BF16: 'Uint16Array', I64: 'BigInt64Array',
  I32: 'Int32Array', I16: 'Int16Array', I8: 'Int8Array', U8: 'Uint8Array', BOOL: 'Uint8Array',
};

/** The typed array a tensor of `dtype` lives in (`Float32Array` for F32, `Uint16Array` for F16 and BF16, ...). */
export function arrayTypeOf(dtype: DType): string {
  return ARRAY_TYPE[dtype];
}

/** Index of the first BOOL byte other than 0 or 1, or -1: safetensors BOOL is one byte, 0 or 1. */
export function firstInvalidBoolIndex(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 1) return i;
  return -1;
}

/**
 * Refuses BOOL bytes other than 0/1, naming the tensor and the first bad index. Writers pass
 * HF_INVALID_ARG; a reader decoding a shard passes HF_FORMAT (the bytes match their hash, so
 * a writer put them there).
 */
export function assertBoolBytes(name: string, bytes: Uint8Array, code: HoldfastErrorCode, path?: string): void {
  const i = firstInvalidBoolIndex(bytes);
  if (i < 0) return;
  const where = path === undefined ? '' : `${path}: `;
  throw new HoldfastError(code, `${where}tensor ${JSON.stringify(name)}: BOOL element ${i} is ${bytes[i]}, expected 0 or 1`, {
    ...(path === undefined ? {} : { path }),
    data: { tensor: name, index: i, value: bytes[i] },
  });
}

/** Checks a caller's tensor: known dtype, matching typed array, length = product of shape, BOOL bytes 0/1. */
export function assertValidTensor(name: string, t: Tensor): void {
  if (!isDType(t.dtype)) throw invalidArg(`tensor "${name}": unsupported dtype ${JSON.stringify(t.dtype)}; expected one of ${DTYPES.join(' ')}`);
  if (!Array.isArray(t.shape)) throw invalidArg(`tensor "${name}": shape must be an array of integers`);
  const n = elementCount(t.shape);
  const expected = ARRAY_TYPE[t.dtype];
  if (t.data?.constructor?.name !== expected) {
    throw invalidArg(`tensor "${name}": dtype ${t.dtype} needs a ${expected}, got ${t.data?.constructor?.name ?? typeof t.data}`);
  }
  if (t.data.length !== n) throw invalidArg(`tensor "${name}": shape [${t.shape.join(', ')}] has ${n} elements, data has ${t.data.length}`);
  if (t.dtype === 'BOOL') assertBoolBytes(name, t.data as Uint8Array, 'HF_INVALID_ARG');
}

/** The tensor's bytes, as a view (no copy). Holdfast writes little-endian, the machine order we require. */
export function tensorBytes(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('Holdfast requires a little-endian machine (safetensors is little-endian)');
}
