/**
 * `replicate(from, to)`: copies the committed checkpoints of one store into
 * another (local ↔ S3, S3 ↔ S3, local ↔ local), one at a time, oldest first
 * (or the steps asked for), each with `copyCheckpoint`: verified on the way
 * and on arrival, committed with the destination's exclusive commit, a step
 * already there skipped, a different checkpoint at a step reported and left,
 * an interrupted copy resumed. A step that fails is reported and the others
 * are still copied.
 */
import { isHoldfastError } from '../errors.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import { copyCheckpoint, type CopyOptions, type CopyResult } from './copy-checkpoint.js';
import { openStorage } from './open-store.js';
import type { StoreOptions } from './types.js';

export interface ReplicateOptions extends CopyOptions {
  /** Only these steps (default: every committed step of `from`). */
  steps?: number[];
  /** Told each step's outcome as it settles. */
  onStep?: (result: ReplicateStepResult) => void;
  /** How a local destination is created and written (default: created if missing, `atomic_dirsync`). */
  store?: Pick<StoreOptions, 'fs' | 'create' | 'fileMode' | 'dirMode'>;
}

export type ReplicateStepResult = CopyResult | { step: number; outcome: 'failed'; bytes: number; sentBytes: number; code: string; message: string };

export interface ReplicateReport {
  from: string;
  to: string;
  results: ReplicateStepResult[];
  /** Bytes sent in this run, all steps. */
  sentBytes: number;
}

/** Copies from one store to another; each is a directory, an `s3://` URL, or a `CheckpointStorage`. */
export async function replicate(from: string | CheckpointStorage, to: string | CheckpointStorage, options: ReplicateOptions = {}): Promise<ReplicateReport> {
  const source = await openStorage(from, { ...options.store, create: false });
  const opened = [source];
  try {
    const dest = await openStorage(to, { ...options.store, ...(options.durability === undefined ? {} : { durability: options.durability }) });
    opened.push(dest);
    const steps = options.steps ?? (await source.list());
    return await replicateSteps(source, dest, steps, options);
  } finally {
    // Only what this call opened from a name; a storage passed in stays the caller's.
    for (const s of opened) if (s !== from && s !== to) await s.close?.();
  }
}

/** The copy loop itself, over storages the caller owns. */
export async function replicateSteps(source: CheckpointStorage, dest: CheckpointStorage, steps: readonly number[], options: CopyOptions & { onStep?: ReplicateOptions['onStep'] }): Promise<ReplicateReport> {
  const results: ReplicateStepResult[] = [];
  for (const step of steps) {
    let result: ReplicateStepResult;
    try {
      result = await copyCheckpoint(source, dest, step, options);
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      result = { step, outcome: 'failed', bytes: 0, sentBytes: 0, code: isHoldfastError(e) ? e.code : 'INTERNAL', message: e.message };
    }
    results.push(result);
    options.onStep?.(result);
  }
  return { from: source.location, to: dest.location, results, sentBytes: results.reduce((s, r) => s + r.sentBytes, 0) };
}
