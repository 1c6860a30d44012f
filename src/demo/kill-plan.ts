/**
 * Where the supervisor kills the training: a seeded list of crashes that
 * alternates a kill at a random step with a kill in the middle of a save
 * (frozen at a torn shard write, an unfinished fsync or just before the commit
 * rename). The plan names target steps; the supervisor moves each one past
 * the point the restarted worker resumes from, so every planned crash happens.
 */
import { invalidArg } from '../errors.js';
import { Prng } from '../train/prng.js';
import { STALL_OPS, type StallOp } from './stalling-file-system.js';

export type PlannedCrash =
  | { kind: 'step'; atStep: number }
  | { kind: 'mid-save'; atStep: number; op: StallOp };

export function planCrashes(options: { steps: number; crashes: number; seed: number }): PlannedCrash[] {
  const { steps, crashes, seed } = options;
  if (crashes > Math.max(0, steps - 1)) throw invalidArg(`cannot crash ${crashes} times in ${steps} steps`);
  const rng = Prng.fromSeed(seed, 'kill-plan');
  const chosen = new Set<number>();
  while (chosen.size < crashes) chosen.add(1 + rng.nextInt(steps - 1));
  return [...chosen]
    .sort((a, b) => a - b)
    .map((atStep, i): PlannedCrash => (i % 2 === 1 ? { kind: 'mid-save', atStep, op: STALL_OPS[rng.nextInt(STALL_OPS.length)]! } : { kind: 'step', atStep }));
}
