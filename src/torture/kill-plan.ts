/**
 * When the kill campaign kills its child, drawn per trial from
 * (seed, mode, trial) so a trial's plan replays exactly (the instant a
 * timed kill lands does not: the kernel schedules it).
 *
 * Three kinds (anchors-reliability §4: "uniform kill instants, plus kills
 * right after each fsync and rename"):
 * - `uniform` (50 %): SIGKILL from the parent a uniform delay after the
 *   child reports `ready`, over a window of a few saves.
 * - `after-commit` (15 %): SIGKILL the moment the parent reads the k-th
 *   `committed` line, i.e. just after a commit while the next save starts.
 * - `after-op` (35 %): the child kills itself right after the n-th completed
 *   call of one kind (fsync, directory fsync, rename, create, …): exact
 *   points on the commit protocol that a timed kill rarely hits.
 */
import { SeededRandom } from '../fs/seeded-random.js';
import type { DurabilityMode } from '../store/types.js';
import { formatKillAfterOp, type KillAfterOp, type KillOpKind } from './kill-trigger-file-system.js';

export type KillPlan =
  | { kind: 'uniform'; delayMs: number }
  | { kind: 'after-commit'; commits: number }
  | { kind: 'after-op'; op: KillAfterOp };

/** Op kinds worth killing after, with the largest n drawn (a save makes 2–4 shards + 2 manifest files). */
const ATOMIC_OPS: [KillOpKind, number, number][] = [
  // kind, max n, weight
  ['sync', 14, 4],
  ['syncdir', 10, 3],
  ['rename', 3, 3],
  ['create', 14, 1],
  ['pwrite', 24, 1],
  ['mkdir', 3, 1],
];
/** `unsafe` never syncs or renames: kill after its writes instead. */
const UNSAFE_OPS: [KillOpKind, number, number][] = [
  ['create', 14, 3],
  ['pwrite', 24, 3],
  ['close', 14, 2],
  ['mkdir', 3, 1],
];

export function drawKillPlan(seed: number, modeIndex: number, trial: number, mode: DurabilityMode, windowMs: number): KillPlan {
  const rng = new SeededRandom(seed, 0x706c616e /* 'plan' */, modeIndex, trial);
  const u = rng.nextFloat();
  if (u < 0.5) return { kind: 'uniform', delayMs: Math.round(rng.nextFloat() * windowMs * 10) / 10 };
  if (u < 0.65) return { kind: 'after-commit', commits: 1 + rng.nextInt(3) };
  const table = mode === 'unsafe' ? UNSAFE_OPS : ATOMIC_OPS;
  let pick = rng.nextInt(table.reduce((s, [, , w]) => s + w, 0));
  for (const [kind, maxN, weight] of table) {
    if (pick < weight) return { kind: 'after-op', op: { kind, n: 1 + rng.nextInt(maxN) } };
    pick -= weight;
  }
  throw new Error('unreachable');
}

export function describeKillPlan(p: KillPlan): string {
  if (p.kind === 'uniform') return `uniform kill ${p.delayMs} ms after ready`;
  if (p.kind === 'after-commit') return `kill on committed line #${p.commits}`;
  return `self-kill after ${formatKillAfterOp(p.op)}`;
}
