/** Shared pieces of the resume tests: the corpus, a crashed-vs-uninterrupted comparison, and its assertions. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareRuns } from '../../src/demo/compare-runs.js';
import { planCrashes, type PlannedCrash } from '../../src/demo/kill-plan.js';
import { STALL_OPS } from '../../src/demo/stalling-file-system.js';
import { superviseTraining, type SupervisedRun } from '../../src/demo/supervisor.js';

export const CORPUS = fileURLToPath(new URL('../../../data/kelp-and-tide.txt', import.meta.url));

/** A seeded plan whose mid-save crashes cycle through every freeze point (torn write, fsync, commit rename). */
export function planCoveringEveryStall(steps: number, crashes: number, seed: number): PlannedCrash[] {
  let k = 0;
  return planCrashes({ steps, crashes, seed }).map((c) => (c.kind === 'mid-save' ? { ...c, op: STALL_OPS[k++ % STALL_OPS.length]! } : c));
}

export async function crashedVersusUninterrupted(
  dir: string,
  o: { model: 'tfjs' | 'plain'; steps: number; interval: number; seed: number; crashes: PlannedCrash[] },
): Promise<{ reference: SupervisedRun; resumed: SupervisedRun }> {
  const common = { corpus: CORPUS, model: o.model, steps: o.steps, interval: o.interval, seed: o.seed, workerTimeoutMs: 50_000 };
  const [reference, resumed] = await Promise.all([
    superviseTraining({ ...common, store: join(dir, 'reference'), crashes: [] }),
    superviseTraining({ ...common, store: join(dir, 'resumed'), crashes: o.crashes }),
  ]);
  return { reference, resumed };
}

/** Everything the issue asks a crashed run to prove, asserted. */
export function assertBitExactResume(reference: SupervisedRun, resumed: SupervisedRun, steps: number): void {
  const c = compareRuns(reference, resumed);
  assert.equal(resumed.crashesDone, resumed.crashesPlanned, 'every planned crash happened');
  assert.equal(reference.losses.length, steps);
  assert.deepEqual(resumed.replayMismatches, [], 'steps recomputed after a crash gave the same loss');
  assert.ok(resumed.replayedSteps > 0, 'crashes cost recomputed steps (the kills were real)');
  assert.equal(resumed.weightsSha256, reference.weightsSha256, 'final weights sha256');
  assert.equal(resumed.stateSha256, reference.stateSha256, 'whole train state sha256');
  assert.equal(c.stepsEqual, steps, `loss curve; first mismatch ${JSON.stringify(c.firstLossMismatch)}`);
  assert.ok(c.identical);
  const resumes = resumed.incarnations.filter((inc) => inc.resumedFrom !== null);
  assert.ok(resumes.length > 0, 'at least one incarnation resumed from a checkpoint');
  for (const inc of resumes) {
    assert.ok(inc.check !== null && inc.check.ok && !inc.check.skipped, `post-resume check of the run resumed from ${inc.resumedFrom}`);
  }
  for (const inc of resumed.incarnations) {
    if (inc.killed && inc.armed?.kind === 'mid-save') {
      // The save frozen mid-write must not have become a checkpoint.
      assert.ok((inc.newestCommittedAfter ?? 0) < inc.armed.step, `checkpoint ${inc.armed.step} frozen at ${inc.armed.op} was not committed`);
    }
  }
}
