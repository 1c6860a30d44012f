/**
 * The read side, on the last atomic_dirsync direct checkpoint: Holdfast's
 * public `restore` with full verification, then lower layers on purpose (the
 * io layer's read + verify alone, and the fresh-memory limits).
 */
import { posix as path } from 'node:path';
import { readFilesHashed } from '../io/read-file-hashed.js';
import { readIntoFreshMemory, touchFreshMemory } from './baselines.js';
import type { HoldfastSaves } from './save-steps.js';
import { sampleRuns } from './sampling.js';
import type { WorkloadRun } from './workload-run.js';

export interface RestoreSamples {
  /** `store.restore(step)`: read, full verification, tensors returned. */
  restore: number[];
  /** io layer: read + SHA-256 of every file into reused buffers, files in parallel. */
  verifyOnly: number[];
  /** limit: the same files read into fresh memory (2 at a time, as verification does), no hashing. */
  freshRead: number[];
  /** limit: the page faults of that much fresh memory alone. */
  freshTouch: number[];
}

export async function restoreSteps(run: WorkloadRun, kept: NonNullable<HoldfastSaves['kept']>): Promise<RestoreSamples> {
  const out: RestoreSamples = { restore: [], verifyOnly: [], freshRead: [], freshTouch: [] };
  const { store, step } = kept;
  const few = Math.min(run.repeat, 3);
  await sampleRuns(Math.min(run.repeat, run.small ? run.repeat : 3), out.restore, () => store.restore(step));
  const manifest = await store.inspect(step);
  const files = manifest.files.map((f) => ({ path: path.join(kept.path, f.path), expectedSizeBytes: f.size }));
  await sampleRuns(few, out.verifyOnly, () => readFilesHashed(run.fs, files, { keep: false, runtime: run.io }));
  const sized = manifest.files.map((f) => ({ path: path.join(kept.path, f.path), sizeBytes: f.size }));
  await sampleRuns(few, out.freshRead, () => readIntoFreshMemory(run.fs, sized, 2));
  await sampleRuns(few, out.freshTouch, async () => touchFreshMemory(sized.map((f) => f.sizeBytes)).length);
  return out;
}
