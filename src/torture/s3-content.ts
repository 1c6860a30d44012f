/**
 * What the S3 campaign saves at a step, a pure function of (seed, step) so
 * the parent regenerates the bytes any saver (in process or a child) was
 * given and compares a restore bit for bit. Half of the steps hold one file
 * larger than a part (the 8 MiB chunk of manifest 2.0), so multipart uploads
 * (begin, parts, complete) meet the faults too; the rest are small single PUTs.
 */
import type { Tensor } from '../format/dtype.js';
import { DEFAULT_CHUNK_BYTES, type JsonValue } from '../format/manifest-types.js';
import { SeededRandom } from '../fs/seeded-random.js';
import { contentDigest, fillTensorBytes } from './kill-content.js';

const KIB = 1024;
const MIB = 1024 * KIB;

export interface S3Content {
  tensors: Record<string, Tensor>;
  state: JsonValue;
  /** One tensor per shard file. */
  shardSizeBytes: number;
  totalBytes: number;
  digest: string;
}

export function s3Content(seed: number, step: number): S3Content {
  const rng = new SeededRandom(seed, 0x73336374 /* 's3ct' */, step);
  const multipart = rng.nextBool(0.5);
  const sizes = [multipart ? DEFAULT_CHUNK_BYTES + MIB + rng.nextInt(5 * MIB) : 16 * KIB + rng.nextInt(MIB), 4 * KIB + rng.nextInt(256 * KIB)].map((n) => Math.floor(n / 8) * 8);
  const tensors: Record<string, Tensor> = {};
  sizes.forEach((bytes, i) => {
    const data = new Uint8Array(bytes);
    fillTensorBytes(seed, step, i, data);
    tensors[`layer${i}.u8`] = { dtype: 'U8', shape: [bytes], data };
  });
  const state: JsonValue = { step, seed, lr: 1e-4 * (1 + rng.nextInt(100)) };
  const total = sizes.reduce((a, b) => a + b, 0);
  return { tensors, state, shardSizeBytes: Math.max(...sizes), totalBytes: total, digest: contentDigest(tensors, state) };
}
