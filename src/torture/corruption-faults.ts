/**
 * One injector per corruption variant (anchors-reliability §3, classes
 * C1–C15). Each damages the fixture's newest checkpoint (step 300) unless it
 * says otherwise, only through `FileSystem` calls (open 'write' + pwrite,
 * truncate, unlink, rename, create, mkdir; symlinks and FIFOs through
 * `MemoryFileSystem.createSpecial`, the one thing the interface cannot
 * make), and returns what it did as (file, offset, length, detail) plus what
 * a correct store must do about it:
 *
 * - `damaged`: steps whose checkpoint is now damaged; verify must flag each
 *   (or not list it at all, which is what a missing manifest means);
 * - `expectedStep`: what `latest()`/`restore()` must return (null: nothing,
 *   HF_NO_VALID_CHECKPOINT).
 *
 * `classId` is the anchor class (`C1`…`C15`), or `unrecoverable` (every
 * checkpoint damaged) or `benign`.
 *
 * Expectations: `detect` (must be caught, required), `benign` (must NOT be
 * flagged: a false alarm otherwise, required), `undetectable` (no checksum
 * can catch it without state kept outside the store or a key: reported,
 * never counted as a miss).
 */
import { createHash } from 'node:crypto';
import { posix as path } from 'node:path';
import { computeManifestHash } from '../format/manifest.js';
import type { Manifest } from '../format/manifest-types.js';
import { MANIFEST_FILE, SHA256SUMS_FILE, checkpointDirName } from '../format/names.js';
import type { FileSystem } from '../fs/file-system.js';
import { readWholeFile, removeTree, writeNewFile } from '../fs/file-utils.js';
import { MemoryFileSystem } from '../fs/memory-file-system.js';
import type { SeededRandom } from '../fs/seeded-random.js';
import type { CorruptFixture, FixtureCheckpoint, FixtureShard } from './corrupt-fixture.js';

export type Expectation = 'detect' | 'benign' | 'undetectable';

export interface FaultContext {
  fs: FileSystem;
  fixture: CorruptFixture;
  rng: SeededRandom;
}

export interface InjectedFault {
  /** Path relative to the store root of the (first) file touched. */
  file: string;
  offset: number;
  length: number;
  detail: string;
  damaged: number[];
  expectedStep: number | null;
}

export interface FaultVariant {
  /** `class/variant`, e.g. `bit-flip/tensor-data`. */
  name: string;
  /** Anchor class `C1`…`C15`, or `unrecoverable`, `benign`. */
  classId: string;
  expectation: Expectation;
  summary: string;
  inject(ctx: FaultContext): Promise<InjectedFault>;
}

const KIB = 1024;

// ---- small FileSystem compositions -------------------------------------------------------------

async function writeAt(fs: FileSystem, p: string, offset: number, bytes: Uint8Array): Promise<void> {
  const fh = await fs.open(p, 'write');
  try {
    await fh.pwrite(bytes, offset);
  } finally {
    await fh.close();
  }
}

async function truncateTo(fs: FileSystem, p: string, sizeBytes: number): Promise<void> {
  const fh = await fs.open(p, 'write');
  try {
    await fh.truncate(sizeBytes);
  } finally {
    await fh.close();
  }
}

/** Replaces a file's contents as a new inode (unlink + create), as a copy tool would. */
async function replaceFile(fs: FileSystem, p: string, bytes: Uint8Array): Promise<void> {
  await fs.unlink(p);
  await writeNewFile(fs, p, bytes, { sync: false });
}

const readAll = (fs: FileSystem, p: string): Promise<Uint8Array> => readWholeFile(fs, p);

async function readManifest(fs: FileSystem, dir: string): Promise<Manifest> {
  return JSON.parse(new TextDecoder().decode(await readAll(fs, path.join(dir, MANIFEST_FILE)))) as Manifest;
}

async function writeManifest(fs: FileSystem, dir: string, m: Manifest, reseal: boolean, indent: string | number = 2): Promise<void> {
  if (reseal) m.manifestHash = computeManifestHash(m);
  await replaceFile(fs, path.join(dir, MANIFEST_FILE), new TextEncoder().encode(`${JSON.stringify(m, null, indent)}\n`));
}

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

// ---- picking targets ----------------------------------------------------------------------------

const newest = (f: CorruptFixture): FixtureCheckpoint => f.checkpoints[f.checkpoints.length - 1]!;
const previous = (f: CorruptFixture): FixtureCheckpoint => f.checkpoints[f.checkpoints.length - 2]!;
const oldest = (f: CorruptFixture): FixtureCheckpoint => f.checkpoints[0]!;
const pick = <T>(rng: SeededRandom, items: readonly T[]): T => items[rng.nextInt(items.length)]!;
const rel = (f: CorruptFixture, abs: string): string => path.relative(f.root, abs);
const shardPath = (c: FixtureCheckpoint, s: FixtureShard): string => path.join(c.dir, s.name);
const manifestPath = (c: FixtureCheckpoint): string => path.join(c.dir, MANIFEST_FILE);

/** Offset in [lo, hi). */
const between = (rng: SeededRandom, lo: number, hi: number): number => lo + rng.nextInt(Math.max(1, hi - lo));

function logUniformInt(rng: SeededRandom, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(Math.exp(Math.log(lo) + rng.nextFloat() * (Math.log(hi) - Math.log(lo))))));
}

/** The usual outcome: the newest checkpoint is damaged, restore must roll back to the one before. */
function onNewest(f: CorruptFixture, file: string, offset: number, length: number, detail: string): InjectedFault {
  return { file: rel(f, file), offset, length, detail, damaged: [newest(f).step], expectedStep: previous(f).step };
}

function benign(f: CorruptFixture, file: string, offset: number, length: number, detail: string): InjectedFault {
  return { file: rel(f, file), offset, length, detail, damaged: [], expectedStep: newest(f).step };
}

// ---- byte-level faults on one file ---------------------------------------------------------------

async function flipBit(ctx: FaultContext, p: string, offset: number): Promise<string> {
  const bit = ctx.rng.nextInt(8);
  const one = new Uint8Array(1);
  const fh = await ctx.fs.open(p, 'read');
  try {
    await fh.pread(one, offset);
  } finally {
    await fh.close();
  }
  one[0] = one[0]! ^ (1 << bit);
  await writeAt(ctx.fs, p, offset, one);
  return `bit ${bit} of byte ${offset}`;
}

type Region = (s: FixtureShard, rng: SeededRandom) => number;

function bitFlipShard(name: string, summary: string, region: Region): FaultVariant {
  return {
    name: `bit-flip/${name}`,
    classId: 'C1',
    expectation: 'detect',
    summary,
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const s = pick(ctx.rng, c.shards);
      const offset = region(s, ctx.rng);
      const detail = await flipBit(ctx, shardPath(c, s), offset);
      return onNewest(ctx.fixture, shardPath(c, s), offset, 1, detail);
    },
  };
}

/** Overwrites `length` bytes with random ones, retrying until at least one byte differs. */
async function overwriteRandom(ctx: FaultContext, p: string, offset: number, length: number): Promise<void> {
  const old = (await readAll(ctx.fs, p)).subarray(offset, offset + length);
  const junk = new Uint8Array(old.length);
  do ctx.rng.fillBytes(junk);
  while (junk.every((b, i) => b === old[i]));
  await writeAt(ctx.fs, p, offset, junk);
}

function randomShard(ctx: FaultContext): { c: FixtureCheckpoint; s: FixtureShard; p: string } {
  const c = newest(ctx.fixture);
  const s = pick(ctx.rng, c.shards);
  return { c, s, p: shardPath(c, s) };
}

/** An aligned block of `blockBytes` inside a file of `size` bytes: [offset, offset + length). */
function alignedBlock(rng: SeededRandom, size: number, blockBytes: number): { offset: number; length: number } {
  const blocks = Math.ceil(size / blockBytes);
  const offset = rng.nextInt(blocks) * blockBytes;
  return { offset, length: Math.min(blockBytes, size - offset) };
}

async function zeroRange(ctx: FaultContext, p: string, offset: number, length: number): Promise<boolean> {
  const old = (await readAll(ctx.fs, p)).subarray(offset, offset + length);
  if (old.every((b) => b === 0)) return false;
  await writeAt(ctx.fs, p, offset, new Uint8Array(length));
  return true;
}

// ---- manifest edits (C12) -------------------------------------------------------------------------

type ManifestEdit = (m: Manifest, ctx: FaultContext) => string;

const SAME_SIZE_DTYPE: Record<string, string> = { F32: 'I32', I32: 'F32', BF16: 'F16', F16: 'BF16', U8: 'I8', I8: 'U8', BOOL: 'U8', F64: 'I64', I64: 'F64', I16: 'F16' };

function tensorName(m: Manifest, rng: SeededRandom, filter: (name: string) => boolean = () => true): string {
  return pick(rng, Object.keys(m.tensors).filter(filter).sort());
}

function otherShape(shape: number[]): number[] {
  if (shape.length === 2 && shape[0] !== shape[1]) return [shape[1]!, shape[0]!];
  const n = shape.reduce((a, b) => a * b, 1);
  return n % 2 === 0 && n > 0 ? [n / 2, 2] : [1, ...shape];
}

const MANIFEST_EDITS: Record<string, { summary: string; edit: ManifestEdit }> = {
  size: {
    summary: 'a file size in the manifest changed',
    edit: (m, { rng }) => {
      const f = pick(rng, m.files);
      const delta = (rng.nextBool() ? 1 : -1) * (1 + rng.nextInt(4096));
      f.size = Math.max(0, f.size + delta) === f.size ? f.size + 1 : Math.max(0, f.size + delta);
      return `files[${f.path}].size → ${f.size}`;
    },
  },
  hash: {
    summary: 'a file hash in the manifest replaced',
    edit: (m, { rng }) => {
      const f = pick(rng, m.files);
      const hex = Array.from(rng.fillBytes(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');
      f.hash = `sha256:${hex}`;
      return `files[${f.path}].hash → ${f.hash.slice(0, 19)}…`;
    },
  },
  'byte-range': {
    summary: "a tensor's byte range (its offset in the shard) shifted",
    edit: (m, { rng }) => {
      const name = tensorName(m, rng, (n) => m.tensors[n]!.slabs[0]!.byteRange[1] > m.tensors[n]!.slabs[0]!.byteRange[0]);
      const slab = m.tensors[name]!.slabs[0]!;
      const shift = (rng.nextBool() ? 1 : -1) * 4 * (1 + rng.nextInt(8));
      slab.byteRange = [slab.byteRange[0] + shift, slab.byteRange[1] + shift];
      return `tensors[${name}].byteRange shifted by ${shift}`;
    },
  },
  dtype: {
    summary: "a tensor's dtype changed to another of the same element size",
    edit: (m, { rng }) => {
      const name = tensorName(m, rng);
      const t = m.tensors[name]!;
      const to = SAME_SIZE_DTYPE[t.dtype] ?? 'U8';
      const from = t.dtype;
      t.dtype = to as typeof t.dtype;
      return `tensors[${name}].dtype ${from} → ${to}`;
    },
  },
  shape: {
    summary: "a tensor's shape changed (same element count)",
    edit: (m, { rng }) => {
      const name = tensorName(m, rng);
      const t = m.tensors[name]!;
      t.shape = otherShape(t.shape);
      t.slabs[0]!.shape = [...t.shape];
      t.slabs[0]!.offset = t.shape.map(() => 0);
      return `tensors[${name}].shape → [${t.shape.join(',')}]`;
    },
  },
  step: {
    summary: 'the step changed',
    edit: (m) => {
      m.step += 1;
      return `step → ${m.step}`;
    },
  },
  nonce: {
    summary: 'the nonce changed',
    edit: (m, { rng }) => {
      m.nonce = Array.from(rng.fillBytes(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
      return `nonce → ${m.nonce}`;
    },
  },
  version: {
    summary: 'the format major version bumped',
    edit: (m) => {
      m.version = '2.0';
      return 'version → 2.0';
    },
  },
  path: {
    summary: 'a file renamed in the manifest (and in its slabs), not on disk',
    edit: (m, { rng }) => {
      const f = pick(rng, m.files.filter((x) => x.kind === 'shard'));
      const from = f.path;
      const to = `r0000-p9${String(rng.nextInt(100)).padStart(2, '0')}.safetensors`;
      f.path = to;
      for (const t of Object.values(m.tensors)) for (const s of t.slabs) if (s.file === from) s.file = to;
      return `files path ${from} → ${to}`;
    },
  },
  'drop-field': {
    summary: 'a required field removed',
    edit: (m, { rng }) => {
      const choice = rng.nextInt(4);
      const rec = m as unknown as Record<string, unknown>;
      if (choice === 0) {
        delete rec['world'];
        return 'world removed';
      }
      if (choice === 1) {
        const f = pick(rng, m.files) as unknown as Record<string, unknown>;
        delete f['rank'];
        return `files[${String(f['path'])}].rank removed`;
      }
      if (choice === 2) {
        const name = tensorName(m, rng);
        delete (m.tensors[name]!.slabs[0] as unknown as Record<string, unknown>)['byteRange'];
        return `tensors[${name}].slabs[0].byteRange removed`;
      }
      delete rec['createdAt'];
      return 'createdAt removed';
    },
  },
  state: {
    summary: 'a value in the training state changed',
    edit: (m, { rng }) => {
      const state = m.state as { optimizer: { lr: number } };
      state.optimizer.lr = state.optimizer.lr * (2 + rng.nextInt(8));
      return `state.optimizer.lr → ${state.optimizer.lr}`;
    },
  },
};

function manifestEdit(field: string, reseal: boolean, expectation: Expectation = 'detect'): FaultVariant {
  const { summary, edit } = MANIFEST_EDITS[field]!;
  return {
    name: `manifest-edit/${field}${reseal ? '+resealed' : ''}`,
    classId: 'C12',
    expectation,
    summary: `${summary}; manifestHash ${reseal ? 'recomputed to match (a consistent rewrite)' : 'left as it was'}`,
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const m = await readManifest(ctx.fs, c.dir);
      const detail = edit(m, ctx);
      await writeManifest(ctx.fs, c.dir, m, reseal);
      return onNewest(ctx.fixture, manifestPath(c), 0, 0, detail);
    },
  };
}

// ---- shard header edits with the manifest updated to the new hash (C13) ---------------------------

interface ParsedHeader {
  doc: Record<string, { dtype?: string; shape?: number[]; data_offsets?: [number, number] } & Record<string, string | unknown>>;
  bytes: Uint8Array;
}

async function readHeader(fs: FileSystem, p: string, s: FixtureShard): Promise<ParsedHeader> {
  const bytes = await readAll(fs, p);
  const json = new TextDecoder().decode(bytes.subarray(8, s.jsonEnd));
  return { doc: JSON.parse(json) as ParsedHeader['doc'], bytes };
}

/**
 * Writes `doc` back as the header (padded to the same length so the data
 * does not move), then records the file's new hash in the manifest and
 * reseals it: the header is now the only thing that disagrees.
 */
async function writeHeaderConsistently(ctx: FaultContext, c: FixtureCheckpoint, s: FixtureShard, h: ParsedHeader, lengthPrefix?: bigint): Promise<boolean> {
  const json = new TextEncoder().encode(JSON.stringify(h.doc));
  if (8 + json.length > s.dataStart) return false;
  const bytes = h.bytes.slice();
  bytes.fill(0x20, 8, s.dataStart);
  bytes.set(json, 8);
  if (lengthPrefix !== undefined) new DataView(bytes.buffer).setBigUint64(0, lengthPrefix, true);
  await writeAt(ctx.fs, shardPath(c, s), 0, bytes.subarray(0, s.dataStart));
  const m = await readManifest(ctx.fs, c.dir);
  m.files.find((f) => f.path === s.name)!.hash = sha256(bytes);
  await writeManifest(ctx.fs, c.dir, m, true);
  return true;
}

type HeaderEdit = (h: ParsedHeader, s: FixtureShard, ctx: FaultContext) => { detail: string; lengthPrefix?: bigint } | undefined;

const tensorKeys = (h: ParsedHeader): string[] => Object.keys(h.doc).filter((k) => k !== '__metadata__');

const HEADER_EDITS: Record<string, { summary: string; edit: HeaderEdit }> = {
  dtype: {
    summary: "a tensor's dtype in the shard header changed (same element size)",
    edit: (h, _s, { rng }) => {
      const k = pick(rng, tensorKeys(h));
      const e = h.doc[k]!;
      const from = String(e.dtype);
      e.dtype = SAME_SIZE_DTYPE[from] ?? 'U8';
      return { detail: `header ${k}.dtype ${from} → ${e.dtype}` };
    },
  },
  shape: {
    summary: "a tensor's shape in the shard header changed (same element count)",
    edit: (h, _s, { rng }) => {
      const k = pick(rng, tensorKeys(h));
      const e = h.doc[k]!;
      e.shape = otherShape(e.shape!);
      return { detail: `header ${k}.shape → [${e.shape.join(',')}]` };
    },
  },
  offsets: {
    summary: "a tensor's data_offsets in the shard header moved",
    edit: (h, _s, { rng }) => {
      const k = pick(rng, tensorKeys(h));
      const e = h.doc[k]!;
      const shift = 4 * (1 + rng.nextInt(8));
      e.data_offsets = [e.data_offsets![0] + shift, e.data_offsets![1] + shift];
      return { detail: `header ${k}.data_offsets shifted by ${shift}` };
    },
  },
  metadata: {
    summary: 'the holdfast.step or holdfast.nonce in the shard __metadata__ changed',
    edit: (h, _s, { rng }) => {
      const meta = h.doc['__metadata__'] as unknown as Record<string, string>;
      if (rng.nextBool()) {
        meta['holdfast.step'] = String(Number(meta['holdfast.step']) - 100);
        return { detail: `header __metadata__ holdfast.step → ${meta['holdfast.step']}` };
      }
      meta['holdfast.nonce'] = Array.from(rng.fillBytes(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
      return { detail: 'header __metadata__ holdfast.nonce replaced' };
    },
  },
  'length-prefix': {
    summary: 'the 8-byte header length changed (past the file end, or into the data)',
    edit: (_h, s, { rng }) => {
      const lengths = [BigInt(s.sizeBytes), BigInt(s.dataStart - 8 + 4 * (1 + rng.nextInt(64))), 2n ** 63n + BigInt(s.dataStart - 8), BigInt(s.jsonEnd - 8 - 1)];
      const lengthPrefix = pick(rng, lengths);
      return { detail: `header length → ${lengthPrefix}`, lengthPrefix };
    },
  },
};

function headerEdit(field: string): FaultVariant {
  const { summary, edit } = HEADER_EDITS[field]!;
  return {
    name: `header-edit/${field}+rehashed`,
    classId: 'C13',
    expectation: 'detect',
    summary: `${summary}; the manifest's hash for the file updated and resealed, so only header checks can catch it`,
    async inject(ctx) {
      const c = newest(ctx.fixture);
      for (;;) {
        const s = pick(ctx.rng, c.shards);
        const h = await readHeader(ctx.fs, shardPath(c, s), s);
        const change = edit(h, s, ctx);
        if (change === undefined) continue;
        if (await writeHeaderConsistently(ctx, c, s, h, change.lengthPrefix)) {
          return onNewest(ctx.fixture, shardPath(c, s), 0, s.dataStart, change.detail);
        }
      }
    },
  };
}

// ---- whole-file faults ---------------------------------------------------------------------------

/** Copies `from` over `to` (a new inode with the same name). */
async function copyOver(fs: FileSystem, from: string, to: string): Promise<number> {
  const bytes = await readAll(fs, from);
  await replaceFile(fs, to, bytes);
  return bytes.length;
}

/** Records a file's current size and hash in the manifest of `c` and reseals it. */
async function rebindFile(fs: FileSystem, c: FixtureCheckpoint, name: string): Promise<void> {
  const bytes = await readAll(fs, path.join(c.dir, name));
  const m = await readManifest(fs, c.dir);
  const f = m.files.find((x) => x.path === name)!;
  f.size = bytes.length;
  f.hash = sha256(bytes);
  await writeManifest(fs, c.dir, m, true);
}

async function exchange(fs: FileSystem, a: string, b: string): Promise<void> {
  const tmp = `${a}.swap-tmp`;
  await fs.rename(a, tmp);
  await fs.rename(b, a);
  await fs.rename(tmp, b);
}

function special(ctx: FaultContext): MemoryFileSystem {
  if (!(ctx.fs instanceof MemoryFileSystem)) throw new Error('symlink and FIFO faults need the in-memory file system (FileSystem cannot create them)');
  return ctx.fs;
}

// ---- the registry ---------------------------------------------------------------------------------

export const FAULT_VARIANTS: readonly FaultVariant[] = [
  // C1: one flipped bit.
  bitFlipShard('length-prefix', "one bit of a shard's 8-byte header length", (_s, rng) => rng.nextInt(8)),
  bitFlipShard('header-json', "one bit of a shard's JSON header", (s, rng) => between(rng, 8, s.jsonEnd)),
  bitFlipShard('header-padding', "one bit of a shard header's space padding", (s, rng) => between(rng, s.jsonEnd, s.dataStart)),
  bitFlipShard('tensor-data', 'one bit of tensor data', (s, rng) => between(rng, s.dataStart, s.sizeBytes)),
  {
    name: 'bit-flip/manifest',
    classId: 'C1',
    expectation: 'detect',
    summary: 'one bit of manifest.json',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const offset = ctx.rng.nextInt(c.manifestBytes);
      const detail = await flipBit(ctx, manifestPath(c), offset);
      return onNewest(ctx.fixture, manifestPath(c), offset, 1, detail);
    },
  },
  // C2: a burst of 2–64 random bytes.
  {
    name: 'burst/shard',
    classId: 'C2',
    expectation: 'detect',
    summary: '2–64 bytes of a shard overwritten with random bytes',
    async inject(ctx) {
      const { s, p } = randomShard(ctx);
      const length = 2 + ctx.rng.nextInt(63);
      const offset = ctx.rng.nextInt(s.sizeBytes - length + 1);
      await overwriteRandom(ctx, p, offset, length);
      return onNewest(ctx.fixture, p, offset, length, `${length} random bytes`);
    },
  },
  {
    name: 'burst/manifest',
    classId: 'C2',
    expectation: 'detect',
    summary: '2–64 bytes of manifest.json overwritten with random bytes',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const length = 2 + ctx.rng.nextInt(63);
      const offset = ctx.rng.nextInt(c.manifestBytes - length + 1);
      await overwriteRandom(ctx, manifestPath(c), offset, length);
      return onNewest(ctx.fixture, manifestPath(c), offset, length, `${length} random bytes`);
    },
  },
  // C3: a zeroed sector or block (a latent sector error read back as zeros).
  ...([['4k', 4096], ['512', 512]] as const).map(([label, blockBytes]): FaultVariant => ({
    name: `zeroed-${label}/shard`,
    classId: 'C3',
    expectation: 'detect',
    summary: `an aligned ${blockBytes}-byte block of a shard set to zero`,
    async inject(ctx) {
      for (;;) {
        const { s, p } = randomShard(ctx);
        const { offset, length } = alignedBlock(ctx.rng, s.sizeBytes, blockBytes);
        if (await zeroRange(ctx, p, offset, length)) return onNewest(ctx.fixture, p, offset, length, `zeroed [${offset}, ${offset + length})`);
      }
    },
  })),
  {
    name: 'zeroed-4k/manifest',
    classId: 'C3',
    expectation: 'detect',
    summary: 'the first 4 KiB block of manifest.json set to zero (the whole manifest, same size)',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const length = Math.min(4096, c.manifestBytes);
      await zeroRange(ctx, manifestPath(c), 0, length);
      return onNewest(ctx.fixture, manifestPath(c), 0, length, `zeroed [0, ${length})`);
    },
  },
  // C4: a sector of random garbage.
  {
    name: 'garbage-sector/shard',
    classId: 'C4',
    expectation: 'detect',
    summary: 'an aligned 512 B or 4 KiB block of a shard filled with random bytes',
    async inject(ctx) {
      const { s, p } = randomShard(ctx);
      const blockBytes = ctx.rng.nextBool() ? 512 : 4096;
      const { offset, length } = alignedBlock(ctx.rng, s.sizeBytes, blockBytes);
      await overwriteRandom(ctx, p, offset, length);
      return onNewest(ctx.fixture, p, offset, length, `${blockBytes}-byte sector of garbage`);
    },
  },
  // C5: truncation.
  ...(
    [
      ['to-zero', 'a shard truncated to 0 bytes', () => 0],
      ['random', 'a shard truncated to a random length', (s: FixtureShard, rng: SeededRandom) => between(rng, 1, s.sizeBytes)],
      ['4k-edge', 'a shard truncated to a 4 KiB boundary', (s: FixtureShard, rng: SeededRandom) => 4096 * rng.nextInt(Math.ceil(s.sizeBytes / 4096))],
      ['end-of-header', 'a shard truncated right after its header (all data gone)', (s: FixtureShard) => s.dataStart],
    ] as const
  ).map(([label, summary, to]): FaultVariant => ({
    name: `truncate/shard-${label}`,
    classId: 'C5',
    expectation: 'detect',
    summary,
    async inject(ctx) {
      const { s, p } = randomShard(ctx);
      const size = to(s, ctx.rng);
      await truncateTo(ctx.fs, p, size);
      return onNewest(ctx.fixture, p, size, s.sizeBytes - size, `truncated ${s.sizeBytes} → ${size} bytes`);
    },
  })),
  {
    name: 'truncate/manifest',
    classId: 'C5',
    expectation: 'detect',
    summary: 'manifest.json truncated to a random length (0 included)',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const size = ctx.rng.nextInt(c.manifestBytes - 1);
      await truncateTo(ctx.fs, manifestPath(c), size);
      return onNewest(ctx.fixture, manifestPath(c), size, c.manifestBytes - size, `truncated ${c.manifestBytes} → ${size} bytes`);
    },
  },
  // C6: extension with junk.
  {
    name: 'extend/shard',
    classId: 'C6',
    expectation: 'detect',
    summary: '1 B – 1 MiB of random junk appended to a shard',
    async inject(ctx) {
      const { s, p } = randomShard(ctx);
      const length = logUniformInt(ctx.rng, 1, 1024 * KIB);
      await writeAt(ctx.fs, p, s.sizeBytes, ctx.rng.fillBytes(new Uint8Array(length)));
      return onNewest(ctx.fixture, p, s.sizeBytes, length, `${length} bytes appended`);
    },
  },
  {
    name: 'extend/manifest',
    classId: 'C6',
    expectation: 'detect',
    summary: '1 B – 4 KiB of junk appended to manifest.json (not only whitespace)',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const junk = ctx.rng.fillBytes(new Uint8Array(logUniformInt(ctx.rng, 1, 4 * KIB)));
      // Trailing whitespace is valid JSON, a benign variant of its own; junk starts with something else.
      junk[0] = 0x21 + ctx.rng.nextInt(0x5e);
      await writeAt(ctx.fs, manifestPath(c), c.manifestBytes, junk);
      return onNewest(ctx.fixture, manifestPath(c), c.manifestBytes, junk.length, `${junk.length} bytes appended`);
    },
  },
  // C7: a file missing, or replaced by something that is not a regular file.
  {
    name: 'missing/shard',
    classId: 'C7',
    expectation: 'detect',
    summary: 'a shard file deleted',
    async inject(ctx) {
      const { s, p } = randomShard(ctx);
      await ctx.fs.unlink(p);
      return onNewest(ctx.fixture, p, 0, s.sizeBytes, 'unlinked');
    },
  },
  {
    name: 'missing/manifest',
    classId: 'C7',
    expectation: 'detect',
    summary: 'manifest.json deleted (the directory is then not a committed checkpoint at all)',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      await ctx.fs.unlink(manifestPath(c));
      return onNewest(ctx.fixture, manifestPath(c), 0, c.manifestBytes, 'unlinked');
    },
  },
  ...(['directory', 'symlink', 'fifo'] as const).map((kind): FaultVariant => ({
    name: `not-a-file/shard-${kind}`,
    classId: 'C7',
    expectation: 'detect',
    summary: `a shard replaced by a ${kind === 'fifo' ? 'FIFO' : kind}`,
    async inject(ctx) {
      const { s, p } = randomShard(ctx);
      await ctx.fs.unlink(p);
      if (kind === 'directory') await ctx.fs.mkdir(p);
      else await special(ctx).createSpecial(p, kind === 'symlink' ? 'symlink' : 'other');
      return onNewest(ctx.fixture, p, 0, s.sizeBytes, `replaced by a ${kind}`);
    },
  })),
  {
    name: 'not-a-file/manifest-directory',
    classId: 'C7',
    expectation: 'detect',
    summary: 'manifest.json replaced by a directory',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      await ctx.fs.unlink(manifestPath(c));
      await ctx.fs.mkdir(manifestPath(c));
      return onNewest(ctx.fixture, manifestPath(c), 0, c.manifestBytes, 'replaced by a directory');
    },
  },
  // C8: a stale copy from the previous checkpoint (a lost write of a whole file).
  {
    name: 'stale/shard',
    classId: 'C8',
    expectation: 'detect',
    summary: "a shard replaced by the same-named shard of the previous checkpoint",
    async inject(ctx) {
      const { s, p } = randomShard(ctx);
      const from = shardPath(previous(ctx.fixture), s);
      const length = await copyOver(ctx.fs, from, p);
      return onNewest(ctx.fixture, p, 0, length, `copied from ${rel(ctx.fixture, from)}`);
    },
  },
  {
    name: 'stale/shard+rehashed',
    classId: 'C8',
    expectation: 'detect',
    summary: "a shard replaced by the previous checkpoint's, and the manifest updated to its size and hash (only __metadata__ step/nonce can tell)",
    async inject(ctx) {
      const { c, s, p } = randomShard(ctx);
      const from = shardPath(previous(ctx.fixture), s);
      const length = await copyOver(ctx.fs, from, p);
      await rebindFile(ctx.fs, c, s.name);
      return onNewest(ctx.fixture, p, 0, length, `copied from ${rel(ctx.fixture, from)}, manifest rebound`);
    },
  },
  {
    name: 'stale/manifest',
    classId: 'C8',
    expectation: 'detect',
    summary: "manifest.json replaced by the previous checkpoint's",
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const from = manifestPath(previous(ctx.fixture));
      const length = await copyOver(ctx.fs, from, manifestPath(c));
      return onNewest(ctx.fixture, manifestPath(c), 0, length, `copied from ${rel(ctx.fixture, from)}`);
    },
  },
  // C9: shards swapped within one checkpoint or across two.
  {
    name: 'swap/within',
    classId: 'C9',
    expectation: 'detect',
    summary: 'two shards of one checkpoint exchanged (renames)',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const a = pick(ctx.rng, c.shards);
      const b = pick(ctx.rng, c.shards.filter((x) => x !== a));
      await exchange(ctx.fs, shardPath(c, a), shardPath(c, b));
      return onNewest(ctx.fixture, shardPath(c, a), 0, a.sizeBytes, `exchanged with ${b.name}`);
    },
  },
  {
    name: 'swap/within+rehashed',
    classId: 'C9',
    expectation: 'detect',
    summary: 'two shards of one checkpoint exchanged and the manifest updated to their new sizes and hashes (only the header/tensor-list check can tell)',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const a = pick(ctx.rng, c.shards);
      const b = pick(ctx.rng, c.shards.filter((x) => x !== a));
      await exchange(ctx.fs, shardPath(c, a), shardPath(c, b));
      await rebindFile(ctx.fs, c, a.name);
      await rebindFile(ctx.fs, c, b.name);
      return onNewest(ctx.fixture, shardPath(c, a), 0, a.sizeBytes, `exchanged with ${b.name}, manifest rebound`);
    },
  },
  {
    name: 'swap/from-other-checkpoint',
    classId: 'C9',
    expectation: 'detect',
    summary: 'a shard replaced by a differently named shard of an older checkpoint of the same run',
    async inject(ctx) {
      const { s, p } = randomShard(ctx);
      const donor = pick(ctx.rng, [previous(ctx.fixture), oldest(ctx.fixture)]);
      const other = pick(ctx.rng, donor.shards.filter((x) => x.name !== s.name));
      const length = await copyOver(ctx.fs, shardPath(donor, other), p);
      return onNewest(ctx.fixture, p, 0, length, `replaced by ${rel(ctx.fixture, shardPath(donor, other))}`);
    },
  },
  {
    name: 'swap/across-two-way',
    classId: 'C9',
    expectation: 'detect',
    summary: 'a shard of the newest checkpoint exchanged with one of the previous (both damaged: restore must fall back two steps)',
    async inject(ctx) {
      const f = ctx.fixture;
      const c = newest(f);
      const d = previous(f);
      const a = pick(ctx.rng, c.shards);
      const b = pick(ctx.rng, d.shards);
      await exchange(ctx.fs, shardPath(c, a), shardPath(d, b));
      return { file: rel(f, shardPath(c, a)), offset: 0, length: a.sizeBytes, detail: `exchanged with ${rel(f, shardPath(d, b))}`, damaged: [c.step, d.step], expectedStep: oldest(f).step };
    },
  },
  // C10: a misdirected write: a valid 4 KiB block from elsewhere.
  {
    name: 'misdirected-block/shard',
    classId: 'C10',
    expectation: 'detect',
    summary: 'a 4 KiB block of a shard overwritten by a valid block from another offset or file',
    async inject(ctx) {
      const f = ctx.fixture;
      for (;;) {
        const { s, p } = randomShard(ctx);
        const donorCkpt = pick(ctx.rng, f.checkpoints);
        const donor = pick(ctx.rng, donorCkpt.shards);
        const src = alignedBlock(ctx.rng, donor.sizeBytes, 4096);
        const dst = alignedBlock(ctx.rng, s.sizeBytes, 4096);
        const length = Math.min(src.length, dst.length);
        const block = (await readAll(ctx.fs, shardPath(donorCkpt, donor))).slice(src.offset, src.offset + length);
        const old = (await readAll(ctx.fs, p)).subarray(dst.offset, dst.offset + length);
        if (block.every((b, i) => b === old[i])) continue;
        await writeAt(ctx.fs, p, dst.offset, block);
        return onNewest(f, p, dst.offset, length, `block from ${rel(f, shardPath(donorCkpt, donor))}@${src.offset}`);
      }
    },
  },
  // C11: a lost write: one block keeps the previous version's bytes.
  {
    name: 'lost-write/shard',
    classId: 'C11',
    expectation: 'detect',
    summary: "one 4 KiB block of a shard reverted to the previous checkpoint's bytes at the same offset",
    async inject(ctx) {
      const f = ctx.fixture;
      for (;;) {
        const { s, p } = randomShard(ctx);
        const from = shardPath(previous(f), s);
        const { offset, length } = alignedBlock(ctx.rng, s.sizeBytes, 4096);
        const block = (await readAll(ctx.fs, from)).slice(offset, offset + length);
        const old = (await readAll(ctx.fs, p)).subarray(offset, offset + length);
        if (block.length === 0 || block.every((b, i) => b === old[i])) continue;
        await writeAt(ctx.fs, p, offset, block);
        return onNewest(f, p, offset, block.length, `block reverted to ${rel(f, from)}@${offset}`);
      }
    },
  },
  // C12: manifest field edits, with and without a recomputed manifestHash.
  manifestEdit('size', false),
  manifestEdit('size', true),
  manifestEdit('hash', false),
  manifestEdit('hash', true),
  manifestEdit('byte-range', false),
  manifestEdit('byte-range', true),
  manifestEdit('dtype', true),
  manifestEdit('shape', true),
  manifestEdit('step', true),
  manifestEdit('nonce', true),
  manifestEdit('version', true),
  manifestEdit('path', true),
  manifestEdit('drop-field', true),
  manifestEdit('state', false),
  {
    name: 'manifest-edit/manifest-hash',
    classId: 'C12',
    expectation: 'detect',
    summary: 'one hex digit of manifestHash itself changed',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const m = await readManifest(ctx.fs, c.dir);
      const i = 7 + ctx.rng.nextInt(64);
      const digit = m.manifestHash[i]!;
      const hex = '0123456789abcdef';
      m.manifestHash = m.manifestHash.slice(0, i) + hex[(hex.indexOf(digit) + 1 + ctx.rng.nextInt(15)) % 16] + m.manifestHash.slice(i + 1);
      await writeManifest(ctx.fs, c.dir, m, false);
      return onNewest(ctx.fixture, manifestPath(c), 0, 0, `manifestHash digit ${i - 7} changed`);
    },
  },
  {
    name: 'manifest-edit/duplicate-key',
    classId: 'C12',
    expectation: 'detect',
    summary: 'a duplicate "step" key inserted (JSON.parse would silently keep the last)',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const text = new TextDecoder().decode(await readAll(ctx.fs, manifestPath(c)));
      const fake = c.step + 1 + ctx.rng.nextInt(1000);
      const at = text.lastIndexOf('}');
      const edited = `${text.slice(0, at).trimEnd()},\n  "step": ${fake}\n}\n`;
      await replaceFile(ctx.fs, manifestPath(c), new TextEncoder().encode(edited));
      return onNewest(ctx.fixture, manifestPath(c), at, edited.length - at, `second "step": ${fake} appended inside the object`);
    },
  },
  {
    name: 'manifest-edit/invalid-utf8',
    classId: 'C12',
    expectation: 'detect',
    summary: 'one byte of manifest.json replaced by an invalid UTF-8 byte',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const offset = ctx.rng.nextInt(c.manifestBytes);
      const bad = pick(ctx.rng, [0xff, 0xfe, 0xc0, 0x80]);
      await writeAt(ctx.fs, manifestPath(c), offset, Uint8Array.of(bad));
      return onNewest(ctx.fixture, manifestPath(c), offset, 1, `byte → 0x${bad.toString(16)}`);
    },
  },
  // C13: shard header edits with the file's hash rebound (a consistent writer bug).
  headerEdit('dtype'),
  headerEdit('shape'),
  headerEdit('offsets'),
  headerEdit('metadata'),
  headerEdit('length-prefix'),
  // C15: whole-checkpoint rollback.
  {
    name: 'rollback/older-renamed-newer',
    classId: 'C15',
    expectation: 'detect',
    summary: 'the previous checkpoint directory renamed to a newer step (its manifest still names the old step)',
    async inject(ctx) {
      const f = ctx.fixture;
      const d = previous(f);
      const to = path.join(f.root, checkpointDirName(newest(f).step + 100));
      await ctx.fs.rename(d.dir, to);
      return { file: rel(f, to), offset: 0, length: 0, detail: `${rel(f, d.dir)} renamed to ${rel(f, to)}`, damaged: [newest(f).step + 100], expectedStep: newest(f).step };
    },
  },
  {
    name: 'rollback/newest-deleted',
    classId: 'C15',
    expectation: 'undetectable',
    summary: 'the newest checkpoint deleted whole: the store is a valid older store; only state kept outside (an external high-water mark) could tell',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      await removeTree(ctx.fs, c.dir);
      return onNewest(ctx.fixture, c.dir, 0, 0, 'directory removed');
    },
  },
  {
    name: 'manifest-edit/state+resealed',
    classId: 'C12',
    expectation: 'undetectable',
    summary: 'a training-state value changed and manifestHash recomputed: a consistent rewrite (tampering), which SHA-256 cannot tell from a save; needs a key (HMAC/signature)',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const m = await readManifest(ctx.fs, c.dir);
      const detail = MANIFEST_EDITS['state']!.edit(m, ctx);
      await writeManifest(ctx.fs, c.dir, m, true);
      return { ...onNewest(ctx.fixture, manifestPath(c), 0, 0, detail), expectedStep: c.step };
    },
  },
  {
    name: 'bit-flip/sha256sums',
    classId: 'C1',
    expectation: 'detect',
    summary: 'one bit of SHA256SUMS flipped: verify checks it against the manifest, so `sha256sum -c` and Holdfast never disagree',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const p = path.join(c.dir, SHA256SUMS_FILE);
      const size = (await ctx.fs.stat(p)).sizeBytes;
      const offset = ctx.rng.nextInt(size);
      const detail = await flipBit(ctx, p, offset);
      return onNewest(ctx.fixture, p, offset, 1, detail);
    },
  },
  // Unrecoverable: every checkpoint damaged; restore must fail loudly.
  {
    name: 'unrecoverable/every-checkpoint',
    classId: 'unrecoverable',
    expectation: 'detect',
    summary: 'one bit of tensor data flipped in every checkpoint: restore must refuse (HF_NO_VALID_CHECKPOINT), not return anything',
    async inject(ctx) {
      const f = ctx.fixture;
      let first: { p: string; offset: number } | undefined;
      for (const c of f.checkpoints) {
        const s = pick(ctx.rng, c.shards);
        const offset = between(ctx.rng, s.dataStart, s.sizeBytes);
        await flipBit(ctx, shardPath(c, s), offset);
        first ??= { p: shardPath(c, s), offset };
      }
      return { file: rel(f, first!.p), offset: first!.offset, length: 1, detail: `one bit flipped in each of ${f.checkpoints.length} checkpoints`, damaged: f.checkpoints.map((c) => c.step), expectedStep: null };
    },
  },
  // Benign: changes that must NOT be flagged (false-alarm checks).
  {
    name: 'benign/clean',
    classId: 'benign',
    expectation: 'benign',
    summary: 'nothing changed',
    async inject(ctx) {
      return benign(ctx.fixture, newest(ctx.fixture).dir, 0, 0, 'untouched');
    },
  },
  {
    name: 'benign/manifest-reindented',
    classId: 'benign',
    expectation: 'benign',
    summary: 'manifest.json re-indented (compact, tabs or 4 spaces): manifestHash is over canonical JSON',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const m = await readManifest(ctx.fs, c.dir);
      const indent = pick(ctx.rng, [0, '\t', 4]);
      await writeManifest(ctx.fs, c.dir, m, false, indent);
      return benign(ctx.fixture, manifestPath(c), 0, 0, `indent ${JSON.stringify(indent)}`);
    },
  },
  {
    name: 'benign/manifest-keys-reordered',
    classId: 'benign',
    expectation: 'benign',
    summary: 'every object in manifest.json written with its keys in reverse order (arrays untouched)',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const reverse = (v: unknown): unknown => {
        if (Array.isArray(v)) return v.map(reverse);
        if (v === null || typeof v !== 'object') return v;
        return Object.fromEntries(Object.entries(v as Record<string, unknown>).reverse().map(([k, x]) => [k, reverse(x)]));
      };
      await writeManifest(ctx.fs, c.dir, reverse(await readManifest(ctx.fs, c.dir)) as Manifest, false);
      return benign(ctx.fixture, manifestPath(c), 0, 0, 'keys reversed');
    },
  },
  {
    name: 'benign/manifest-trailing-whitespace',
    classId: 'benign',
    expectation: 'benign',
    summary: 'whitespace appended to manifest.json (still the same JSON document)',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const ws = new TextEncoder().encode(pick(ctx.rng, ['\n', '\n\n', '  \n', '\t\r\n']));
      await writeAt(ctx.fs, manifestPath(c), c.manifestBytes, ws);
      return benign(ctx.fixture, manifestPath(c), c.manifestBytes, ws.length, 'whitespace appended');
    },
  },
  {
    name: 'benign/extra-file-in-checkpoint',
    classId: 'benign',
    expectation: 'benign',
    summary: 'an unknown file added inside the checkpoint directory (Holdfast ignores files the manifest does not name)',
    async inject(ctx) {
      const c = newest(ctx.fixture);
      const p = path.join(c.dir, pick(ctx.rng, ['notes.txt', 'r0000-p099.safetensors', '.DS_Store', 'optimizer.pt']));
      const bytes = ctx.rng.fillBytes(new Uint8Array(1 + ctx.rng.nextInt(8192)));
      await writeNewFile(ctx.fs, p, bytes, { sync: false });
      return benign(ctx.fixture, p, 0, bytes.length, 'extra file');
    },
  },
  {
    name: 'benign/extra-entries-in-store',
    classId: 'benign',
    expectation: 'benign',
    summary: 'unknown files and non-checkpoint directories added to the store root (ckpt-latest, ckpt-12, README)',
    async inject(ctx) {
      const f = ctx.fixture;
      const name = pick(ctx.rng, ['README.txt', 'ckpt-latest', 'ckpt-12', 'ckpt-000000000300.bak']);
      const p = path.join(f.root, name);
      if (name.startsWith('ckpt-')) await ctx.fs.mkdir(p);
      else await writeNewFile(ctx.fs, p, new TextEncoder().encode('notes\n'), { sync: false });
      return benign(f, p, 0, 0, `added ${name}`);
    },
  },
  {
    name: 'benign/mtime-touched',
    classId: 'benign',
    expectation: 'benign',
    summary: 'a shard rewritten with its own bytes (mtime changes, content does not)',
    async inject(ctx) {
      const { s, p } = randomShard(ctx);
      const offset = ctx.rng.nextInt(s.sizeBytes);
      const fh = await ctx.fs.open(p, 'read');
      const one = new Uint8Array(1);
      try {
        await fh.pread(one, offset);
      } finally {
        await fh.close();
      }
      await writeAt(ctx.fs, p, offset, one);
      return benign(ctx.fixture, p, offset, 1, 'same byte rewritten');
    },
  },
];

export function findFaultVariant(name: string): FaultVariant | undefined {
  return FAULT_VARIANTS.find((v) => v.name === name);
}
