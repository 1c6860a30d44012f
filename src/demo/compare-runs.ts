/**
 * The demo's verdict: does the crashed-and-resumed run end exactly where the
 * uninterrupted one did? Equal means equal bits: the final weights' SHA-256,
 * the whole training state's SHA-256, every step's loss compared with
 * `Object.is`, and no replayed step that disagreed with its first run.
 */
import type { SupervisedRun } from './supervisor.js';

interface RunComparison {
  identical: boolean;
  weightsEqual: boolean;
  stateEqual: boolean;
  lossesEqual: boolean;
  stepsCompared: number;
  stepsEqual: number;
  firstLossMismatch: { step: number; reference: number | undefined; resumed: number | undefined } | null;
  replayMismatches: number;
}

export function compareRuns(reference: SupervisedRun, resumed: SupervisedRun): RunComparison {
  const n = Math.max(reference.losses.length, resumed.losses.length);
  let stepsEqual = 0;
  let firstLossMismatch: RunComparison['firstLossMismatch'] = null;
  for (let i = 0; i < n; i++) {
    const a = reference.losses[i];
    const b = resumed.losses[i];
    if (a !== undefined && b !== undefined && Object.is(a, b)) stepsEqual += 1;
    else firstLossMismatch ??= { step: i + 1, reference: a, resumed: b };
  }
  const weightsEqual = reference.weightsSha256 === resumed.weightsSha256;
  const stateEqual = reference.stateSha256 === resumed.stateSha256;
  const lossesEqual = stepsEqual === n && n > 0;
  const replayMismatches = reference.replayMismatches.length + resumed.replayMismatches.length;
  return {
    identical: weightsEqual && stateEqual && lossesEqual && replayMismatches === 0,
    weightsEqual, stateEqual, lossesEqual, stepsCompared: n, stepsEqual, firstLossMismatch, replayMismatches,
  };
}
