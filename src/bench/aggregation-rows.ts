/**
 * The effect of coalescing small tensors into shard files (issue 13): the
 * small-tensor workload saved and restored through the public API with the
 * planner's aggregation on (the default: every tensor packed into ~256 MiB
 * shard files, here one file) and off (`shardSizeBytes: 1`, so every tensor
 * gets its own file: one create, one fsync and one hash stream each).
 */
import { posix as path } from 'node:path';
import { openStore } from '../index.js';
import { removeTree } from '../fs/file-utils.js';
import { measurement, sample } from './sampling.js';
import type { Measurement } from './types.js';
import type { WorkloadRun } from './workload-run.js';

interface AggregationSamples {
  on: { save: number[]; restore: number[]; files: number };
  off: { save: number[]; restore: number[]; files: number };
  bytes: number;
}

export async function aggregationSteps(run: WorkloadRun): Promise<AggregationSamples> {
  const measure = async (key: 'on' | 'off'): Promise<AggregationSamples['on']> => {
    const root = path.join(run.dir, `aggregation-${key}`);
    const store = await openStore(root, { runtime: run.io, ...(key === 'off' ? { shardSizeBytes: 1 } : {}) });
    const out = { save: [] as number[], restore: [] as number[], files: 0 };
    let last = 0;
    for (let i = 0; i < run.repeat; i++) {
      last = run.nextStep();
      const s = last;
      const r = await sample(out.save, () => store.save(s, { tensors: run.tensors, state: { step: s } }));
      out.files = r.files;
    }
    for (let i = 0; i < run.repeat; i++) await sample(out.restore, () => store.restore(last));
    await removeTree(run.fs, root);
    return out;
  };
  const on = await measure('on');
  const off = await measure('off');
  run.log(`aggregation on: ${on.files} files per checkpoint; off: ${off.files}`);
  return { on, off, bytes: run.workload.bytes };
}

export function aggregationRows(a: AggregationSamples, writeLimit: number | undefined, readLimit: number | undefined): { save: Measurement[]; restore: Measurement[] } {
  const label = (k: 'on' | 'off'): string =>
    k === 'on' ? `small tensors aggregated into shard files (default; ${a.on.files} shard file${a.on.files === 1 ? "" : "s"})` : `aggregation off: one shard file per tensor (shardSizeBytes 1; ${a.off.files} shard files)`;
  const rows = (what: 'save' | 'restore', limit: number | undefined): Measurement[] =>
    (['on', 'off'] as const).map((k) =>
      measurement({ label: `Holdfast ${what === 'save' ? 'save, atomic_dirsync' : 'restore + full verify'}, ${label(k)}`, kind: 'holdfast', method: 'direct', bytes: a.bytes, seconds: a[k][what] }, limit),
    );
  return { save: rows('save', writeLimit), restore: rows('restore', readLimit) };
}
