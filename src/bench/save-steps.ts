/** The write side: the naive baselines, Holdfast's public `save`, and the io layer's writer alone. */
import { posix as path } from 'node:path';
import { DURABILITY_MODES, openStore, type DurabilityMode, type Store } from '../index.js';
import { tensorBytes, type Tensor } from '../format/dtype.js';
import { removeTree } from '../fs/file-utils.js';
import { writeFileParts } from '../io/write-file-parts.js';
import { writeOneFilePerTensor, writeSingleFile } from './baselines.js';
import { BufferedOnlyFileSystem } from './buffered-only-file-system.js';
import { sample } from './sampling.js';
import { median } from './stats.js';
import type { WorkloadRun } from './workload-run.js';

export const IO_METHODS = ['direct', 'buffered'] as const;
type IoMethod = (typeof IO_METHODS)[number];

/** Seconds of each run of the two naive baselines: one file per tensor, and a single file, each buffered + fsync. */
export async function naiveBaselines(run: WorkloadRun): Promise<{ perTensor: number[]; single: number[] }> {
  const perTensor: number[] = [];
  const single: number[] = [];
  for (let i = 0; i < Math.min(run.repeat, run.small ? run.repeat : 2); i++) {
    const d = path.join(run.dir, `naive-${i}`);
    await sample(perTensor, () => writeOneFilePerTensor(run.fs, d, run.tensors));
    await removeTree(run.fs, d);
    const f = path.join(run.dir, `single-${i}.bin`);
    await sample(single, () => writeSingleFile(run.fs, f, run.tensors));
    await run.fs.unlink(f);
  }
  return { perTensor, single };
}

export interface HoldfastSaves {
  /** Stores opened through the public API; `buffered` sits on a file system that refuses O_DIRECT, so the writer falls back. */
  stores: Record<IoMethod, Store>;
  /** Seconds per run, keyed `${mode}/${method}`. */
  samples: Map<string, number[]>;
  /** The last atomic_dirsync direct checkpoint, kept for the restore rows; every other one is deleted once measured. */
  kept: { store: Store; step: number; path: string; bytes: number } | undefined;
}

/** `store.save` in every durability mode and I/O method. */
export async function holdfastSaves(run: WorkloadRun): Promise<HoldfastSaves> {
  const samples = new Map<string, number[]>();
  const stores: Record<IoMethod, Store> = {
    direct: await openStore(path.join(run.dir, 'store-direct'), { runtime: run.io }),
    buffered: await openStore(path.join(run.dir, 'store-buffered'), { fs: new BufferedOnlyFileSystem(run.fs), runtime: run.io }),
  };
  let kept: HoldfastSaves['kept'];
  for (const method of IO_METHODS) {
    for (const mode of DURABILITY_MODES) {
      const seconds: number[] = [];
      for (let i = 0; i < run.repeat; i++) {
        const s = run.nextStep();
        const result = await sample(seconds, () => stores[method].save(s, { tensors: run.tensors, state: { step: s } }, { durability: mode }));
        if (method === 'direct' && mode === 'atomic_dirsync' && i === run.repeat - 1) kept = { store: stores[method], step: s, path: result.path, bytes: result.bytes };
        else await removeTree(run.fs, result.path);
      }
      samples.set(saveKey(mode, method), seconds);
      run.log(`save ${mode} ${method}: median ${(run.workload.bytes / median(seconds) / 1e9).toFixed(2)} GB/s`);
    }
  }
  return { stores, samples, kept };
}

export const saveKey = (mode: DurabilityMode, method: IoMethod): string => `${mode}/${method}`;

/**
 * A lower layer on purpose: the io layer alone, the state cut into two files
 * written in parallel (one per hashing worker), direct + fsync. The store's
 * data path without planning, staging directory, manifest or renames.
 */
export async function ioLayerWrite(run: WorkloadRun): Promise<number[]> {
  const seconds: number[] = [];
  const halves = splitInTwo(Object.values(run.tensors));
  for (let i = 0; i < Math.min(run.repeat, 3); i++) {
    const d = path.join(run.dir, `io-${i}`);
    await run.fs.mkdir(d);
    const header = new Uint8Array(4096);
    await sample(seconds, () =>
      Promise.all(halves.map((h, k) => writeFileParts(run.fs, path.join(d, `p${k}`), [header, ...h.map(tensorBytes)], { sync: true, ioMethod: 'direct', runtime: run.io }))),
    );
    await run.fs.syncDir(d);
    await removeTree(run.fs, d);
  }
  return seconds;
}

function splitInTwo(ts: Tensor[]): [Tensor[], Tensor[]] {
  const total = ts.reduce((n, t) => n + t.data.byteLength, 0);
  let acc = 0;
  const a: Tensor[] = [];
  const b: Tensor[] = [];
  for (const t of ts) {
    (acc < total / 2 ? a : b).push(t);
    acc += t.data.byteLength;
  }
  return [a, b];
}
