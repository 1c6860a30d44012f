/**
 * How cost grows (issue 13; `holdfast bench --growth`): three sweeps through
 * the public API, each point a fresh store in the bench directory, deleted
 * once measured.
 * - State size: 64 MiB doubling up to 4 GiB (capped by `maxBytes`), as F32
 *   tensors of 4 MiB (a model's tensor count grows with its size too):
 *   durable save (atomic_dirsync) and restore + full verify.
 * - Tensor count: 256 MiB (or `maxBytes`) cut into 10 … 100,000 equal F32 tensors.
 * - Checkpoints in a store: `latest()` and `list()` (what `holdfast latest`
 *   and `holdfast ls` call) with 10 … 10,000 committed checkpoints. The store
 *   is built cheaply: tiny checkpoints (JSON state only) saved `unsafe`, the
 *   store grown from one count to the next.
 * Reported, never asserted; docs/PERFORMANCE.md says where each curve bends.
 */
import { posix as path } from 'node:path';
import { openStore, type Store, type Tensor } from '../index.js';
import type { FileSystem } from '../fs/file-system.js';
import { removeTree } from '../fs/file-utils.js';
import { sample } from './sampling.js';

const MiB = 1024 * 1024;

export interface GrowthOptions {
  /** Largest state of the size sweep (default 4 GiB). */
  maxBytes: number;
  /** Tiny seeded sweeps for the smoke test. */
  quick: boolean;
  repeat: number;
  log: (line: string) => void;
}

export interface GrowthPoint {
  /** The swept quantity: bytes, tensors or checkpoints. */
  x: number;
  bytes: number;
  tensors: number;
  /** Seconds per run of the two operations of the sweep (save/restore, or latest/list). */
  a: number[];
  b: number[];
}

export interface GrowthSweep {
  name: 'state size' | 'tensor count' | 'checkpoints in the store';
  x: string;
  a: string;
  b: string;
  points: GrowthPoint[];
}

export interface GrowthReport {
  sweeps: GrowthSweep[];
}

export async function runGrowth(fs: FileSystem, dir: string, o: GrowthOptions): Promise<GrowthReport> {
  const sizes = o.quick ? [1, 2, 4].map((m) => m * MiB) : doublings(64 * MiB, o.maxBytes);
  const total = o.quick ? MiB : Math.min(256 * MiB, o.maxBytes);
  const counts = o.quick ? [10, 100, 1000] : [10, 100, 1000, 10_000, 100_000];
  const stores = o.quick ? [10, 30] : [10, 100, 1000, 10_000];
  const runs = o.quick ? 1 : Math.min(o.repeat, 3);
  return {
    sweeps: [
      { name: 'state size', x: 'bytes', a: 'save s', b: 'restore s', points: await sizeSweep(fs, dir, sizes, runs, o.log) },
      { name: 'tensor count', x: 'tensors', a: 'save s', b: 'restore s', points: await countSweep(fs, dir, total, counts, runs, o.log) },
      { name: 'checkpoints in the store', x: 'checkpoints', a: 'latest s', b: 'ls s', points: await storeSweep(fs, dir, stores, Math.max(runs, 3), o.log) },
    ],
  };
}

function doublings(from: number, to: number): number[] {
  const out: number[] = [];
  for (let b = from; b <= to; b *= 2) out.push(b);
  return out.length === 0 ? [to] : out;
}

/** Saves and restores `tensors` `runs` times in a fresh store; the store is removed afterwards. */
async function saveAndRestore(fs: FileSystem, root: string, tensors: Record<string, Tensor>, runs: number): Promise<{ save: number[]; restore: number[] }> {
  const store = await openStore(root);
  const save: number[] = [];
  const restore: number[] = [];
  try {
    for (let step = 1; step <= runs; step++) {
      const saved = await sample(save, () => store.save(step, { tensors, state: { step } }));
      await sample(restore, () => store.restore(step));
      // One checkpoint on the disk at a time: the 4 GiB point needs 4 GiB free, not 12.
      await removeTree(fs, saved.path);
    }
  } finally {
    await store.close();
    await removeTree(fs, root);
  }
  return { save, restore };
}

/** `count` F32 tensors of `bytesEach` (rounded down to whole elements), every element written. */
function uniformState(count: number, bytesEach: number): Record<string, Tensor> {
  const each = Math.max(1, Math.floor(bytesEach / 4));
  const tensors: Record<string, Tensor> = {};
  // One allocation of up to 64 MiB cut into views, so 100,000 tensors are not 100,000 allocations.
  const perChunk = Math.max(1, Math.floor((64 * MiB) / 4 / each));
  let chunk = new Float32Array(0);
  for (let i = 0; i < count; i++) {
    const k = i % perChunk;
    if (k === 0) {
      chunk = new Float32Array(each * Math.min(perChunk, count - i));
      for (let j = 0; j < chunk.length; j++) chunk[j] = ((i + j) % 9973) + 0.25;
    }
    tensors[`t.${i}`] = { dtype: 'F32', shape: [each], data: chunk.subarray(k * each, (k + 1) * each) };
  }
  return tensors;
}

const stateBytes = (tensors: Record<string, Tensor>): number => Object.values(tensors).reduce((n, t) => n + t.data.byteLength, 0);

async function sizeSweep(fs: FileSystem, dir: string, sizes: number[], runs: number, log: (s: string) => void): Promise<GrowthPoint[]> {
  const points: GrowthPoint[] = [];
  for (const target of sizes) {
    const tensors = uniformState(Math.max(1, Math.round(target / (4 * MiB))), Math.min(target, 4 * MiB));
    const bytes = stateBytes(tensors);
    const r = await saveAndRestore(fs, path.join(dir, 'growth-size'), tensors, runs);
    points.push({ x: bytes, bytes, tensors: Object.keys(tensors).length, a: r.save, b: r.restore });
    log(`growth: ${(bytes / MiB).toFixed(0)} MiB saved in ${r.save.map((s) => s.toFixed(2)).join(' ')} s, restored in ${r.restore.map((s) => s.toFixed(2)).join(' ')} s`);
  }
  return points;
}

async function countSweep(fs: FileSystem, dir: string, total: number, counts: number[], runs: number, log: (s: string) => void): Promise<GrowthPoint[]> {
  const points: GrowthPoint[] = [];
  for (const count of counts) {
    const tensors = uniformState(count, total / count);
    const r = await saveAndRestore(fs, path.join(dir, 'growth-count'), tensors, runs);
    points.push({ x: count, bytes: stateBytes(tensors), tensors: count, a: r.save, b: r.restore });
    log(`growth: ${count} tensors saved in ${r.save.map((s) => s.toFixed(2)).join(' ')} s, restored in ${r.restore.map((s) => s.toFixed(2)).join(' ')} s`);
  }
  return points;
}

async function storeSweep(fs: FileSystem, dir: string, counts: number[], runs: number, log: (s: string) => void): Promise<GrowthPoint[]> {
  const root = path.join(dir, 'growth-store');
  const store: Store = await openStore(root, { durability: 'unsafe' });
  const points: GrowthPoint[] = [];
  try {
    let have = 0;
    for (const count of counts) {
      while (have < count) {
        have++;
        await store.save(have, { state: { step: have } });
      }
      const latest: number[] = [];
      const list: number[] = [];
      for (let i = 0; i < runs; i++) {
        await sample(latest, () => store.latest());
        await sample(list, () => store.list());
      }
      points.push({ x: count, bytes: 0, tensors: 0, a: latest, b: list });
      log(`growth: ${count} checkpoints: latest ${latest.map((s) => s.toFixed(3)).join(' ')} s, ls ${list.map((s) => s.toFixed(3)).join(' ')} s`);
    }
  } finally {
    await store.close();
    await removeTree(fs, root);
  }
  return points;
}
