/**
 * The saves the power-loss and I/O-error campaigns torture (research note §4:
 * "≥ 4 save shapes"), and what each checkpoint must read back as.
 *
 * A shape is a store built in memory (descriptor, optional source files, a
 * few earlier committed checkpoints) plus one *save under test*. Everything
 * is deterministic from the shape's name: tensor bytes come from a seeded
 * stream, so the expected content of every step is known before any crash
 * and a restored checkpoint is compared bit for bit (tensors, dtype, shape,
 * JSON state, opaque files), never merely "it verified".
 *
 * Sizes are small on purpose (KiB): restore runs once per crash state, and
 * the campaigns check hundreds of thousands of states. Small still means
 * several 4096-byte blocks per shard, so blocks can be lost or torn
 * independently (R2, R3).
 */
import { createHash } from 'node:crypto';
import { posix as path } from 'node:path';
import { canonicalJson } from '../format/canonical-json.js';
import { tensorBytes, type Tensor } from '../format/dtype.js';
import type { JsonValue } from '../format/manifest-types.js';
import type { FileSystem } from '../fs/file-system.js';
import { ensureDirTree, readWholeFile, writeNewFile } from '../fs/file-utils.js';
import { MemoryFileSystem } from '../fs/memory-file-system.js';
import type { MemoryTree } from '../fs/memory-tree.js';
import { SeededRandom } from '../fs/seeded-random.js';
import { openStore } from '../store/open-store.js';
import type { DurabilityMode, SaveResult, Store } from '../store/types.js';

/** Where every campaign store lives inside its in-memory file system. */
export const STORE_ROOT = '/store';
/** Where `commitFiles` shapes keep the caller's files (outside the store, durable before the save). */
const SOURCE_DIR = '/src';

export type ShapeSave =
  | { step: number; kind: 'save'; tensors: Record<string, Tensor>; state: JsonValue }
  | { step: number; kind: 'commitFiles'; files: Record<string, Uint8Array> };

export interface SaveShape {
  name: string;
  description: string;
  shardSizeBytes: number;
  /** Committed (and durable) before the save under test, oldest first. */
  earlier: ShapeSave[];
  underTest: ShapeSave;
}

function f32(rng: SeededRandom, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
}

function u8(rng: SeededRandom, n: number): Uint8Array {
  return rng.fillBytes(new Uint8Array(n));
}

/** A small training state: weights, an Adam moment, and the JSON a resume needs. */
function trainSave(step: number, stream: number, sizes: { weights: number; moment: number; extra?: number }): ShapeSave {
  const rng = new SeededRandom(0x5eed, stream, step);
  const tensors: Record<string, Tensor> = {
    'layer0.weight': { dtype: 'F32', shape: [sizes.weights], data: f32(rng, sizes.weights) },
    'adam.m.layer0.weight': { dtype: 'F32', shape: [sizes.moment], data: f32(rng, sizes.moment) },
  };
  if (sizes.extra !== undefined) tensors['embed.bytes'] = { dtype: 'U8', shape: [sizes.extra], data: u8(rng, sizes.extra) };
  const state: JsonValue = {
    optimizer: { step, lr: 3e-4, beta1: 0.9 },
    rng: { seed: 42, draws: step * 17 },
    data: { epoch: Math.floor(step / 100), index: (step * 131) % 1000 },
  };
  return { step, kind: 'save', tensors, state };
}

/** `count` tensors of `floats` F32 each: with `shardSizeBytes` = floats × 4, one shard file per tensor. */
function shardedSave(step: number, count: number, floats: number): ShapeSave {
  const rng = new SeededRandom(0x5eed, 7, step);
  const tensors: Record<string, Tensor> = {};
  for (let i = 0; i < count; i++) tensors[`block${i}.weight`] = { dtype: 'F32', shape: [floats], data: f32(rng, floats) };
  return { step, kind: 'save', tensors, state: { optimizer: { step }, shards: count } };
}

function filesSave(step: number): ShapeSave {
  const rng = new SeededRandom(0x5eed, 9, step);
  return { step, kind: 'commitFiles', files: { 'model.pt': u8(rng, 9000), 'tokenizer.json': new TextEncoder().encode(JSON.stringify({ vocab: 256, step })) } };
}

/** Every shape, by name. `direct-1mib` is slow per state (1 MiB hashed per restore): full runs only. */
const SAVE_SHAPES: Record<string, SaveShape> = {
  '1-shard': {
    name: '1-shard',
    description: 'first save into a fresh store: 1 shard (12,688 B, 4 blocks) + SHA256SUMS + manifest = a 3-file save; creates .staging',
    shardSizeBytes: 1 << 30,
    earlier: [],
    underTest: trainSave(1, 1, { weights: 2048, moment: 100 }),
  },
  '4-shards': {
    name: '4-shards',
    description: 'after 1 committed checkpoint: 4 shards of 8,192 B (2 blocks each) + SHA256SUMS + manifest',
    shardSizeBytes: 4096,
    earlier: [shardedSave(10, 4, 1024)],
    underTest: shardedSave(20, 4, 1024),
  },
  'after-2-commits': {
    name: 'after-2-commits',
    description: 'after 2 committed checkpoints: 2 shards (16,096 B and 4,873 B) + SHA256SUMS + manifest',
    shardSizeBytes: 12000,
    earlier: [trainSave(100, 3, { weights: 1500, moment: 1500, extra: 777 }), trainSave(200, 3, { weights: 1500, moment: 1500, extra: 777 })],
    underTest: trainSave(300, 3, { weights: 1500, moment: 1500, extra: 777 }),
  },
  'commit-files': {
    name: 'commit-files',
    description: 'after 1 committed checkpoint: commitFiles of 2 opaque files (9,000 B model.pt, tokenizer.json) + SHA256SUMS + manifest',
    shardSizeBytes: 1 << 30,
    earlier: [trainSave(5, 5, { weights: 512, moment: 512 })],
    underTest: filesSave(6),
  },
  'direct-1mib': {
    name: 'direct-1mib',
    description: 'after 1 committed checkpoint: 1 shard of 1,057,792 B written with O_DIRECT (one 1,060,864-byte padded pwrite, 259 blocks, then truncated) + SHA256SUMS + manifest',
    shardSizeBytes: 1 << 30,
    earlier: [trainSave(1000, 11, { weights: 256, moment: 256 })],
    underTest: trainSave(2000, 11, { weights: 262144, moment: 1280 }),
  },
};

export const DEFAULT_SHAPES = ['1-shard', '4-shards', 'after-2-commits', 'commit-files'];
export const SAVE_SHAPE_NAMES: readonly string[] = Object.keys(SAVE_SHAPES);

export function shapeByName(name: string): SaveShape {
  const shape = SAVE_SHAPES[name];
  if (shape === undefined) throw new RangeError(`unknown save shape ${JSON.stringify(name)}; known: ${Object.keys(SAVE_SHAPES).join(', ')}`);
  return shape;
}

/** The same save at another step (same bytes): what a retry or the next save writes. */
export function atStep(save: ShapeSave, step: number): ShapeSave {
  return { ...save, step };
}

function sourcePath(name: string): string {
  return path.join(SOURCE_DIR, name);
}

/** Runs one shape save against `store`: `save` or `commitFiles` (whose sources must already exist). */
export function runSave(store: Store, save: ShapeSave): Promise<SaveResult> {
  if (save.kind === 'save') return store.save(save.step, { tensors: save.tensors, state: save.state });
  return store.commitFiles(save.step, Object.keys(save.files).map(sourcePath));
}

/**
 * SHA-256 over everything a checkpoint hands back: tensor names, dtypes,
 * shapes and bytes (sorted by name), the canonical JSON state, and the bytes
 * of opaque files (sorted by name). Equal digests mean bit-identical content.
 */
function contentDigest(tensors: Record<string, Tensor>, state: JsonValue, files: Record<string, Uint8Array> = {}): string {
  const h = createHash('sha256');
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name]!;
    h.update(`tensor\0${name}\0${t.dtype}\0${t.shape.join(',')}\0`);
    h.update(tensorBytes(t));
  }
  h.update(`state\0${canonicalJson(state)}\0`);
  for (const name of Object.keys(files).sort()) {
    h.update(`file\0${name}\0${files[name]!.length}\0`);
    h.update(files[name]!);
  }
  return h.digest('hex');
}

function expectedDigest(save: ShapeSave): string {
  return save.kind === 'save' ? contentDigest(save.tensors, save.state) : contentDigest({}, null, save.files);
}

/** Expected content digest and kind of every step a shape can commit (earlier steps, the step under test, and `extraSteps` copies of it). */
export function expectedContents(shape: SaveShape, extraSteps: number[] = []): Map<number, { digest: string; save: ShapeSave }> {
  const m = new Map<number, { digest: string; save: ShapeSave }>();
  for (const s of [...shape.earlier, shape.underTest, ...extraSteps.map((step) => atStep(shape.underTest, step))]) {
    m.set(s.step, { digest: expectedDigest(s), save: s });
  }
  return m;
}

/** What a restore returned, as a content digest comparable with `expectedDigest`. Opaque files are read from the checkpoint directory. */
export async function restoredDigest(
  fs: FileSystem,
  restored: { path: string; tensors: Record<string, Tensor>; state: JsonValue },
  kind: ShapeSave['kind'],
  fileNames: string[],
): Promise<string> {
  if (kind === 'save') return contentDigest(restored.tensors, restored.state);
  const files: Record<string, Uint8Array> = {};
  for (const name of fileNames) files[name] = await readWholeFile(fs, path.join(restored.path, name));
  return contentDigest(restored.tensors, restored.state, files);
}

/**
 * The shape's store before the save under test, as a durable tree: the
 * descriptor, the caller's source files and every earlier checkpoint,
 * committed in `mode`. The campaigns treat this tree as fully durable (a
 * quiescent store after writeback): the crash model only varies what the
 * save under test does.
 */
export async function buildInitialTree(shape: SaveShape, mode: DurabilityMode): Promise<MemoryTree> {
  const mem = new MemoryFileSystem();
  if (shape.underTest.kind === 'commitFiles') {
    await ensureDirTree(mem, SOURCE_DIR);
    for (const [name, bytes] of Object.entries(shape.underTest.files)) await writeNewFile(mem, sourcePath(name), bytes, { sync: true });
  }
  const store = await openStore(STORE_ROOT, { fs: mem, durability: mode, shardSizeBytes: shape.shardSizeBytes });
  for (const save of shape.earlier) await runSave(store, save);
  return mem.snapshot();
}

/** Names of the opaque files of a `commitFiles` save (empty for tensor saves). */
export function fileNamesOf(save: ShapeSave): string[] {
  return save.kind === 'commitFiles' ? Object.keys(save.files) : [];
}
