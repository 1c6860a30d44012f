/**
 * What the kill campaign's child saves at each step, as a pure function of
 * (seed, step), so the parent can regenerate the exact bytes of any step and
 * compare what restore returns bit for bit, without the child sending them.
 *
 * Sizes come from a seeded mix (DESIGN §9 "sizes drawn from a seeded mix"):
 * 70 % small (16–512 KiB), 25 % medium (0.5–4 MiB), 5 % large (8–40 MiB),
 * log-uniform inside each band, cut into 2–4 shard files of 1–3 tensors
 * each (`shardSizeBytes` is chosen so the planner makes exactly that many
 * files). Mostly small because a kill trial's cost is dominated by process
 * start-up plus one save; the large ones put kills inside long O_DIRECT
 * writes and fsyncs of tens of MiB.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../format/canonical-json.js';
import type { DType, Tensor } from '../format/dtype.js';
import { elementBytes, tensorBytes } from '../format/dtype.js';
import type { JsonValue } from '../format/manifest-types.js';
import { SeededRandom } from '../fs/seeded-random.js';

const KIB = 1024;
const MIB = 1024 * KIB;
/** Random bytes are drawn for this much of each tensor; the rest tiles it (drawing 40 MiB would dominate a trial). */
const RANDOM_PREFIX_BYTES = 64 * KIB;
/** Every block of this size gets its own stamp, so no two blocks of a checkpoint are equal. */
const STAMP_BLOCK_BYTES = 4 * KIB;
const DTYPE_CYCLE: DType[] = ['F32', 'BF16', 'I32', 'F16', 'U8'];

interface KillContent {
  step: number;
  tensors: Record<string, Tensor>;
  state: JsonValue;
  /** Makes the planner cut exactly `files` shard files. */
  shardSizeBytes: number;
  files: number;
  totalBytes: number;
}

interface ContentShape {
  totalBytes: number;
  files: number;
  tensorsPerFile: number;
  band: 'small' | 'medium' | 'large';
}

function logUniform(rng: SeededRandom, lo: number, hi: number): number {
  return Math.round(Math.exp(Math.log(lo) + rng.nextFloat() * (Math.log(hi) - Math.log(lo))));
}

/** The size band, file count and tensors per file of `step`. */
export function contentShape(seed: number, step: number): ContentShape {
  const rng = new SeededRandom(seed, 0x6b696c6c /* 'kill' */, step);
  const u = rng.nextFloat();
  const band = u < 0.7 ? 'small' : u < 0.95 ? 'medium' : 'large';
  const totalBytes =
    band === 'small' ? logUniform(rng, 16 * KIB, 512 * KIB) : band === 'medium' ? logUniform(rng, 512 * KIB, 4 * MIB) : logUniform(rng, 8 * MIB, 40 * MIB);
  return { totalBytes, files: 2 + rng.nextInt(3), tensorsPerFile: 1 + rng.nextInt(3), band };
}

export function fillTensorBytes(seed: number, step: number, index: number, bytes: Uint8Array): void {
  const rng = new SeededRandom(seed, 0x74656e73 /* 'tens' */, step, index);
  const prefix = Math.min(bytes.length, RANDOM_PREFIX_BYTES);
  rng.fillBytes(bytes.subarray(0, prefix));
  for (let filled = prefix; filled < bytes.length; filled *= 2) bytes.copyWithin(filled, 0, Math.min(filled, bytes.length - filled));
  // Stamp (step, tensor, block) into every block: tiled copies would otherwise repeat.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let off = 0, block = 0; off + 12 <= bytes.length; off += STAMP_BLOCK_BYTES, block++) {
    view.setUint32(off, step >>> 0, true);
    view.setUint32(off + 4, index, true);
    view.setUint32(off + 8, block, true);
  }
}

function typedArray(dtype: DType, buffer: ArrayBuffer): Tensor['data'] {
  switch (dtype) {
    case 'F32': return new Float32Array(buffer);
    case 'I32': return new Int32Array(buffer);
    case 'BF16':
    case 'F16': return new Uint16Array(buffer);
    case 'U8': return new Uint8Array(buffer);
    default: throw new RangeError(`kill content does not generate ${dtype}`);
  }
}

/** The checkpoint the child saves at `step` (tensors + JSON state). */
export function killContent(seed: number, step: number): KillContent {
  const shape = contentShape(seed, step);
  const count = shape.files * shape.tensorsPerFile;
  // A multiple of 8 bytes fits every dtype of the cycle; at least one 4 KiB block each.
  const tensorBytesEach = Math.max(STAMP_BLOCK_BYTES, Math.floor(shape.totalBytes / count / 8) * 8);
  const tensors: Record<string, Tensor> = {};
  for (let i = 0; i < count; i++) {
    const dtype = DTYPE_CYCLE[(step + i) % DTYPE_CYCLE.length]!;
    const buffer = new ArrayBuffer(tensorBytesEach);
    fillTensorBytes(seed, step, i, new Uint8Array(buffer));
    tensors[`layer${String(i).padStart(2, '0')}.${dtype.toLowerCase()}`] = { dtype, shape: [tensorBytesEach / elementBytes(dtype)], data: typedArray(dtype, buffer) };
  }
  const rng = new SeededRandom(seed, 0x73746174 /* 'stat' */, step);
  const state: JsonValue = {
    step,
    optimizer: { lr: 3e-4 * (1 + rng.nextInt(100) / 100), beta1: 0.9, beta2: 0.999 },
    rng: [rng.nextUint32(), rng.nextUint32(), rng.nextUint32(), rng.nextUint32()],
    data: { epoch: Math.floor(step / 1000), index: (step * 7919) % 100_003 },
  };
  return { step, tensors, state, shardSizeBytes: tensorBytesEach * shape.tensorsPerFile, files: shape.files, totalBytes: tensorBytesEach * count };
}

/**
 * SHA-256 over every tensor (sorted by name: name, dtype, shape, bytes) and
 * the canonical JSON of the state: equal digests mean a bit-exact checkpoint.
 */
export function contentDigest(tensors: Record<string, Tensor>, state: JsonValue): string {
  const h = createHash('sha256');
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name]!;
    h.update(`tensor\0${name}\0${t.dtype}\0${t.shape.join(',')}\0${t.data.byteLength}\0`);
    h.update(tensorBytes(t));
  }
  h.update(`state\0${canonicalJson(state)}`);
  return h.digest('hex');
}

/** Digest of what the child saves at `step`. */
export function expectedDigest(seed: number, step: number): string {
  const c = killContent(seed, step);
  return contentDigest(c.tensors, c.state);
}
