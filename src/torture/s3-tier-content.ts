/**
 * What the S3 campaign's tier-kill class saves at a step: a pure function of (seed, step), like
 * s3-content.ts, but every step holds one file of three to five 8 MiB chunks (so an upload has
 * several parts to lose and resume) beside a small one.
 */
import type { Tensor } from '../format/dtype.js';
import { DEFAULT_CHUNK_BYTES, type JsonValue } from '../format/manifest-types.js';
import { SeededRandom } from '../fs/seeded-random.js';
import { contentDigest, fillTensorBytes } from './kill-content.js';
import type { S3Content } from './s3-content.js';

export function tierContent(seed: number, step: number): S3Content {
  const rng = new SeededRandom(seed, 0x74696572 /* 'tier' */, step);
  const sizes = [DEFAULT_CHUNK_BYTES * 2 + 8 + rng.nextInt(DEFAULT_CHUNK_BYTES * 3), 4096 + rng.nextInt(65_536)].map((n) => Math.floor(n / 8) * 8);
  const tensors: Record<string, Tensor> = {};
  sizes.forEach((bytes, i) => {
    const data = new Uint8Array(bytes);
    fillTensorBytes(seed, step, i, data);
    tensors[`layer${i}.u8`] = { dtype: 'U8', shape: [bytes], data };
  });
  const state: JsonValue = { step, seed };
  return { tensors, state, shardSizeBytes: Math.max(...sizes), totalBytes: sizes.reduce((a, b) => a + b, 0), digest: contentDigest(tensors, state) };
}
