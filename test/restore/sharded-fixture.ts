/**
 * Multi-slab manifest 2.0 checkpoints for the resharding tests, before the
 * multi-rank save exists: one shard file per rank holding that rank's slab of
 * each global tensor (cut element by element, independently of the code under
 * test), chunk digests, a sealed 2.0 manifest, committed through the storage
 * seam's own writer (begin → writeFile → commit). Plus the test oracle (a part
 * cut out of a tensor element by element), the partitions the tests use, and
 * a storage wrapper that counts the bytes its readers return.
 */
import { elementBytes, type Tensor } from '../../src/format/dtype.js';
import { encodeManifest, sealManifest } from '../../src/format/manifest.js';
import { META_NONCE, META_RANK, META_STEP, type JsonValue, type Manifest, type ManifestFile, type TensorSlab } from '../../src/format/manifest-types.js';
import { newNonce } from '../../src/format/nonce.js';
import { encodeShardHeader, type ShardEntry } from '../../src/format/safetensors.js';
import { formatHash, sha256Hex } from '../../src/format/sha256.js';
import { encodeSha256Sums } from '../../src/format/sha256sums.js';
import type { IoRuntime } from '../../src/io/io-runtime.js';
import type { CheckpointReader, CheckpointStorage } from '../../src/storage/checkpoint-storage.js';
import type { TensorPart } from '../../src/restore/tensor-part.js';
import { bytesOf } from '../helpers/tensors.js';

/** What a rank holds of one tensor: a box, a flat range, or nothing (written by another rank). */
export type Extent = { offset: number[]; shape: number[] } | { flat: [number, number] } | undefined;

export interface ShardedSave {
  step: number;
  tensors: Record<string, Tensor>;
  /** Per tensor, what each rank holds (index = rank); the extents must tile the tensor. */
  slabs: Record<string, Extent[]>;
  worldSize: number;
  chunkBytes: number;
  state?: JsonValue;
}

export async function writeShardedCheckpoint(storage: CheckpointStorage, save: ShardedSave, io: IoRuntime): Promise<Manifest> {
  const { manifest, contents } = buildShardedCheckpoint(save);
  const writer = await storage.begin(save.step, { nonce: manifest.nonce, durability: 'atomic_dirsync' });
  for (const [name, bytes] of contents) await writer.writeFile(name, [bytes], { runtime: io });
  await writer.commit(encodeManifest(manifest), encodeSha256Sums(manifest.files));
  return manifest;
}

/** The sealed manifest and the bytes of every shard file, by name. */
export function buildShardedCheckpoint(save: ShardedSave): { manifest: Manifest; contents: Map<string, Uint8Array> } {
  const nonce = newNonce();
  const files: ManifestFile[] = [];
  const tensors: Manifest['tensors'] = {};
  const contents = new Map<string, Uint8Array>();
  for (let rank = 0; rank < save.worldSize; rank++) {
    const name = `r${String(rank).padStart(4, '0')}-p000.safetensors`;
    const held = Object.keys(save.tensors).flatMap((t) => (save.slabs[t]![rank] === undefined ? [] : [{ t, extent: save.slabs[t]![rank]! }]));
    const data = held.map(({ t, extent }) => cutPart(save.tensors[t]!, extent!));
    const entries: ShardEntry[] = held.map(({ t, extent }, i) => ({ name: t, dtype: save.tensors[t]!.dtype, shape: storedShape(extent!), byteLength: data[i]!.byteLength }));
    const header = encodeShardHeader(entries, { [META_STEP]: String(save.step), [META_RANK]: String(rank), [META_NONCE]: nonce });
    const bytes = concat([header.bytes, ...data]);
    contents.set(name, bytes);
    files.push({ path: name, size: bytes.byteLength, hash: formatHash(sha256Hex(bytes)), rank, kind: 'shard', chunks: chunkDigests(bytes, save.chunkBytes) });
    held.forEach(({ t, extent }, i) => {
      const slab: TensorSlab = 'flat' in extent! ? { file: name, byteRange: header.ranges[i]!, flat: extent.flat } : { file: name, byteRange: header.ranges[i]!, offset: extent!.offset, shape: extent!.shape };
      const tensor = save.tensors[t]!;
      tensors[t] ??= { dtype: tensor.dtype, shape: [...tensor.shape], slabs: [] };
      tensors[t].slabs.push(slab);
    });
  }
  const manifest = sealManifest({
    format: 'holdfast',
    version: '2.0',
    step: save.step,
    nonce,
    createdAt: new Date().toISOString(),
    files,
    tensors,
    state: save.state ?? null,
    world: { size: save.worldSize },
    provenance: { library: 'holdfast test fixture', host: 'test', user: 'test', pid: process.pid },
    parent: null,
  });
  return { manifest, contents };
}

function chunkDigests(bytes: Uint8Array, chunkBytes: number): { bytes: number; sha256: string[] } {
  const sha256: string[] = [];
  for (let at = 0; at < bytes.byteLength; at += chunkBytes) sha256.push(sha256Hex(bytes.subarray(at, at + chunkBytes)));
  return { bytes: chunkBytes, sha256 };
}

function storedShape(e: NonNullable<Extent>): number[] {
  return 'flat' in e ? [e.flat[1] - e.flat[0]] : e.shape;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** The oracle: the bytes of `part` of `t`, row-major in the part's own shape, cut element by element. */
export function cutPart(t: Tensor, part: NonNullable<Extent> | TensorPart): Uint8Array {
  const size = elementBytes(t.dtype);
  const all = bytesOf(t);
  if ('flat' in part) return Uint8Array.from(all.subarray(part.flat[0] * size, part.flat[1] * size));
  const count = part.shape.reduce((n, d) => n * d, 1);
  const out = new Uint8Array(count * size);
  for (let e = 0; e < count; e++) {
    // e → index inside the part → index inside the global tensor → its row-major position there.
    let rest = e;
    let global = 0;
    let stride = 1;
    for (let d = part.shape.length - 1; d >= 0; d--) {
      const i = rest % part.shape[d]!;
      rest = Math.floor(rest / part.shape[d]!);
      global += (part.offset[d]! + i) * stride;
      stride *= t.shape[d]!;
    }
    out.set(all.subarray(global * size, (global + 1) * size), e * size);
  }
  return out;
}

export type PartitionKind = 'rows' | 'cols' | 'grid' | 'flat';
export const PARTITION_KINDS: readonly PartitionKind[] = ['rows', 'cols', 'grid', 'flat'];

/** `n` near-equal cuts of `length`, uneven where it does not divide. */
function cuts(length: number, n: number): [number, number][] {
  return Array.from({ length: n }, (_, i) => [Math.floor((i * length) / n), Math.floor(((i + 1) * length) / n)]);
}

/**
 * What each of `n` ranks holds of a tensor of `shape`, split `kind`-wise: by dimension 0, by
 * dimension 1, as a grid over both, or as flat element ranges. A 0-d tensor is held whole by rank 0.
 */
export function partition(shape: readonly number[], kind: PartitionKind, n: number): Extent[] {
  const rank = shape.length;
  if (rank === 0) return Array.from({ length: n }, (_, i) => (i === 0 ? (kind === 'flat' ? { flat: [0, 1] } : { offset: [], shape: [] }) : undefined));
  if (kind === 'flat') return cuts(shape.reduce((a, d) => a * d, 1), n).map((r) => ({ flat: r }));
  const along = (dim: number, parts: number): { offset: number[]; shape: number[] }[] =>
    cuts(shape[dim]!, parts).map(([b, e]) => ({ offset: shape.map((_, d) => (d === dim ? b : 0)), shape: shape.map((s, d) => (d === dim ? e - b : s)) }));
  if (kind === 'rows' || rank === 1) return along(0, n);
  if (kind === 'cols') return along(1, n);
  // grid: a × b = n with a the largest divisor up to √n
  let a = Math.floor(Math.sqrt(n));
  while (n % a !== 0) a--;
  const rows = cuts(shape[0]!, a);
  const cols = cuts(shape[1]!, n / a);
  return rows.flatMap(([r0, r1]) => cols.map(([c0, c1]) => ({ offset: shape.map((_, d) => (d === 0 ? r0 : d === 1 ? c0 : 0)), shape: shape.map((s, d) => (d === 0 ? r1 - r0 : d === 1 ? c1 - c0 : s)) })));
}

/** Every byte range its readers returned, per file (readHashed counts as the whole file). */
export interface ReadLog {
  ranges: Map<string, [number, number][]>;
  bytes(): number;
}

/** `storage` whose checkpoint readers log what they read. */
export function countingStorage(storage: CheckpointStorage): { storage: CheckpointStorage; log: ReadLog } {
  const ranges = new Map<string, [number, number][]>();
  const note = (name: string, begin: number, end: number): void => {
    if (end > begin) ranges.set(name, [...(ranges.get(name) ?? []), [begin, end]]);
  };
  const log: ReadLog = { ranges, bytes: () => [...ranges.values()].flat().reduce((n, [b, e]) => n + e - b, 0) };
  const wrapReader = (r: CheckpointReader): CheckpointReader => ({
    ...r,
    locate: (name) => r.locate(name),
    statFile: (name) => r.statFile(name),
    readSmallFile: (name, max) => r.readSmallFile(name, max),
    readRange: async (name, offset, into) => {
      const n = await r.readRange(name, offset, into);
      note(name, offset, offset + n);
      return n;
    },
    readHashed: async (name, size, options) => {
      const got = await r.readHashed(name, size, options);
      note(name, 0, got.sizeBytes);
      return got;
    },
  });
  const open = async (step: number): Promise<CheckpointReader | undefined> => {
    const r = await storage.open(step);
    return r === undefined ? undefined : wrapReader(r);
  };
  const wrapped = new Proxy(storage, {
    get(target, prop) {
      if (prop === 'open') return open;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { storage: wrapped, log };
}
