/**
 * What every process of the concurrency campaign saves at `step`: a pure
 * function of (seed, step), whichever process saves it. So two processes
 * racing for one step write the same tensors (whoever wins, the bytes are
 * known), and any process can check a restore bit for bit by regenerating
 * them. Small on purpose (4 KiB – 2 MiB, 1–4 tensors): the campaign wants
 * many operations, not big ones.
 */
import type { DType, Tensor } from '../format/dtype.js';
import type { JsonValue } from '../format/manifest-types.js';
import { SeededRandom } from '../fs/seeded-random.js';
import { contentDigest } from './kill-content.js';

const KIB = 1024;
/** Random bytes per tensor; the rest repeats them with a per-block stamp (drawing MiBs would dominate a call). */
const RANDOM_PREFIX_BYTES = 16 * KIB;
const STAMP_BLOCK_BYTES = 4 * KIB;
const MIN_BYTES = 4 * KIB;
const MAX_BYTES = 2048 * KIB;

export interface ConcurrentContent {
  tensors: Record<string, Tensor>;
  state: JsonValue;
  totalBytes: number;
}

export function concurrentContent(seed: number, step: number): ConcurrentContent {
  const rng = new SeededRandom(seed, 0x636f6e63 /* 'conc' */, step);
  const total = Math.round(Math.exp(Math.log(MIN_BYTES) + rng.nextFloat() * (Math.log(MAX_BYTES) - Math.log(MIN_BYTES))));
  const count = 1 + rng.nextInt(4);
  const each = Math.max(8, Math.floor(total / count / 8) * 8);
  const tensors: Record<string, Tensor> = {};
  for (let i = 0; i < count; i++) {
    const bytes = new Uint8Array(each);
    const prefix = Math.min(each, RANDOM_PREFIX_BYTES);
    rng.fillBytes(bytes.subarray(0, prefix));
    for (let filled = prefix; filled < each; filled *= 2) bytes.copyWithin(filled, 0, Math.min(filled, each - filled));
    const view = new DataView(bytes.buffer);
    for (let off = 0, block = 0; off + 8 <= each; off += STAMP_BLOCK_BYTES, block++) {
      view.setUint32(off, step >>> 0, true);
      view.setUint32(off + 4, (i << 20) | block, true);
    }
    const dtype: DType = i % 2 === 0 ? 'F32' : 'U8';
    tensors[`w${i}.${dtype.toLowerCase()}`] = { dtype, shape: [dtype === 'F32' ? each / 4 : each], data: dtype === 'F32' ? new Float32Array(bytes.buffer) : bytes };
  }
  return { tensors, state: { step, lr: 1e-3, data: { index: (step * 7919) % 100_003 } }, totalBytes: each * count };
}

export function concurrentDigest(seed: number, step: number): string {
  const c = concurrentContent(seed, step);
  return contentDigest(c.tensors, c.state);
}
