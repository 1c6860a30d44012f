/**
 * The first save of a fresh process (a job that checkpoints once an hour, the
 * CLI, a short script): every sample is a new child process (`first-save-
 * child.ts`) that builds the state, opens the store and times its first
 * `save` (atomic_dirsync, O_DIRECT where accepted), once as it comes and once
 * after `store.warm(bytes)` (whose own time is kept apart). The steady-state
 * row beside it is the ordinary save row, measured in the bench's own warm
 * process.
 */
import { runJsonChild } from './run-json-child.js';
import { posix as path } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeTree } from '../fs/file-utils.js';
import type { FirstSaveArgs, FirstSaveResult } from './first-save-child.js';
import { measurement } from './sampling.js';
import { median } from './stats.js';
import type { Measurement } from './types.js';
import type { WorkloadRun } from './workload-run.js';

const CHILD_PATH = fileURLToPath(new URL('./first-save-child.js', import.meta.url));

export interface FirstSaveSamples {
  /** Seconds of the first save, no warm-up. */
  cold: number[];
  /** Seconds of the first save after `store.warm(bytes)`. */
  warmed: number[];
  /** Seconds of that `store.warm(bytes)`. */
  warmUp: number[];
  bytes: number;
}

export async function firstSaveSamples(run: WorkloadRun, maxBytes: number | undefined): Promise<FirstSaveSamples> {
  const out: FirstSaveSamples = { cold: [], warmed: [], warmUp: [], bytes: 0 };
  const store = path.join(run.dir, 'store-fresh-process');
  for (let i = 0; i < Math.min(run.repeat, 3); i++) {
    for (const warm of [false, true]) {
      const args: FirstSaveArgs = { workload: run.name, store, step: run.nextStep(), warm, ...(maxBytes === undefined ? {} : { maxBytes }) };
      const r = await runChild(args);
      (warm ? out.warmed : out.cold).push(r.saveSeconds);
      if (warm) out.warmUp.push(r.warmSeconds);
      out.bytes = r.bytes;
      await removeTree(run.fs, r.path);
    }
  }
  await removeTree(run.fs, store);
  return out;
}

function runChild(args: FirstSaveArgs): Promise<FirstSaveResult> {
  return runJsonChild<FirstSaveResult>(`first-save child for step ${args.step}`, CHILD_PATH, [JSON.stringify(args)]);
}

/** The two rows beside the steady-state save row. */
export function firstSaveRows(s: FirstSaveSamples, limit: number | undefined): Measurement[] {
  const warmUpMs = Math.round(median(s.warmUp) * 1000);
  return [
    measurement({ label: 'Holdfast first save in a fresh process, atomic_dirsync (a child process per sample)', kind: 'holdfast', mode: 'atomic_dirsync', method: 'direct', bytes: s.bytes, seconds: s.cold }, limit),
    measurement(
      { label: 'Holdfast first save in a fresh process after store.warm(bytes), atomic_dirsync', kind: 'holdfast', mode: 'atomic_dirsync', method: 'direct', bytes: s.bytes, seconds: s.warmed, note: `the warm-up itself took ${warmUpMs} ms (median), before the save` },
      limit,
    ),
  ];
}
