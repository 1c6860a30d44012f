/**
 * `saveAsync` within a staging budget (issue 13), each run in a child process
 * of its own (save-memory-child.ts), the second save of that process (the
 * steady state of a training loop): for no budget, half, a quarter and none of
 * the state, the pause and the peak resident memory, beside what the README's
 * formula predicts: pause ≈ copy(staged) + deferred bytes / save bandwidth,
 * with the save bandwidth of this run's steady-state durable save, and peak ≈
 * resident before the state + state + staged + the fixed overhead. Measured,
 * never asserted (test/bench/staging-budget-memory.test.ts asserts the bound).
 */
import { posix as path } from 'node:path';
import { removeTree } from '../fs/file-utils.js';
import { runSaveMemoryChild } from './save-memory-child.js';
import type { StagingBudgetRow } from './types.js';
import type { WorkloadRun } from './workload-run.js';

const MiB = 1024 * 1024;

/** `saveBytesPerSecond`: this run's steady-state `save` (atomic_dirsync, direct) bandwidth, for the prediction. */
export async function stagingBudgetRows(run: WorkloadRun, saveBytesPerSecond: number): Promise<StagingBudgetRow[]> {
  const stateMib = Math.max(16, Math.round(run.workload.bytes / MiB));
  // At least 8 shard files, so a budget of a half or a quarter stages something.
  const shardMib = Math.max(1, Math.min(256, Math.floor(stateMib / 8)));
  const rows: StagingBudgetRow[] = [];
  for (const budgetMib of [undefined, Math.floor(stateMib / 2), Math.floor(stateMib / 4), 0]) {
    const dir = path.join(run.dir, 'budget');
    const r = await runSaveMemoryChild(dir, { stateMib, budgetMib, shardMib, warmUp: true });
    await removeTree(run.fs, dir);
    const predictedPauseMs = r.copyMs + (r.deferredBytes / saveBytesPerSecond) * 1000;
    rows.push({ ...r, shardBytes: shardMib * MiB, predictedPauseMs, overheadBytes: r.peakRssBytes - r.rssBeforeStateBytes - r.stateBytes - r.stagedBytes });
    run.log(`staging budget ${budgetMib === undefined ? 'none' : `${budgetMib} MiB`}: pause ${r.pauseMs.toFixed(0)} ms (predicted ${predictedPauseMs.toFixed(0)}), peak ${(r.peakRssBytes / MiB).toFixed(0)} MiB`);
  }
  return rows;
}
