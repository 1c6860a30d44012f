/** Large seeded tensors: checkpoints big enough for several S3 parts. */
import type { Tensor } from '../../src/format/dtype.js';

/** A tensor of `bytes` seeded bytes: large enough for several S3 parts. */
export function bigTensor(bytes: number, seed: number): Tensor {
  const data = new Uint8Array(bytes);
  let x = seed >>> 0;
  for (let i = 0; i < bytes; i += 4) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    data[i] = x & 0xff;
    data[i + 1] = (x >>> 8) & 0xff;
    data[i + 2] = (x >>> 16) & 0xff;
    data[i + 3] = x >>> 24;
  }
  return { dtype: 'U8', shape: [bytes], data };
}
