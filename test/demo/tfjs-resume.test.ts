/**
 * The TensorFlow.js training loop survives SIGKILLs at seeded random steps
 * and in the middle of saves (torn shard write, unfinished fsync, missing
 * commit rename), resuming from the newest valid checkpoint each time, and
 * ends with the same final weights, whole-state digest and loss curve as an
 * uninterrupted run, bit for bit.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { tempDir } from '../helpers/temp-dir.js';
import { assertBitExactResume, crashedVersusUninterrupted, planCoveringEveryStall } from './resume-helpers.js';

const STEPS = 60;

test('tfjs model: killed 6 times (3 mid-save), resumed bit-exact', async (t) => {
  const crashes = planCoveringEveryStall(STEPS, 6, 77);
  const { reference, resumed } = await crashedVersusUninterrupted(tempDir(t), { model: 'tfjs', steps: STEPS, interval: 15, seed: 3, crashes });
  assertBitExactResume(reference, resumed, STEPS);
  assert.equal(resumed.incarnations.filter((i) => i.killed && i.armed?.kind === 'mid-save').length, 3);
  // Checkpoint 15 falls mid-accumulation (2 micro-batches per update, so one gradient is pending).
  // The plan's second crash freezes the save of 30, and a new save first waits for the previous
  // commit, so 15 is committed by then and the third process resumes from it.
  const from = resumed.incarnations.map((i) => i.resumedFrom);
  assert.ok(from.includes(15), `resumed from ${from.join(', ')}`);
});
