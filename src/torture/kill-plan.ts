/**
 * When the kill campaign kills its child, drawn per trial from
 * (seed, mode, trial) so a trial's plan replays exactly (the instant a
 * timed kill lands does not: the kernel schedules it).
 *
 * Three kinds (anchors-reliability §4: "uniform kill instants, plus kills
 * right after each fsync and rename"):
 * - `uniform` (50 %): SIGKILL from the parent a uniform delay after the
 *   child reports `ready`, over a window of about three save cycles (the
 *   lane measures its cycle time, which differs by mode 10×: `unsafe` saves
 *   a small checkpoint in ~10 ms, `atomic_dirsync` in ~40 ms). The plan
 *   draws the position in the window; the lane scales it.
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
  | { kind: 'uniform'; fraction: number }
  | { kind: 'after-commit'; commits: number }
  | { kind: 'after-op'; op: KillAfterOp };

/**
 * Op kinds worth killing after, per mode, as [kind, largest n, weight]. A
 * save makes 2–4 shard files plus SHA256SUMS and the manifest, so n up to 14
 * reaches into the third save. Only kinds the mode actually calls: a kill
 * point that never comes would leave the child saving until the timeout.
 */
const OPS_BY_MODE: Record<DurabilityMode, [KillOpKind, number, number][]> = {
  atomic_dirsync: [['sync', 14, 4], ['syncdir', 10, 3], ['rename', 3, 3], ['create', 14, 1], ['pwrite', 24, 1], ['mkdir', 3, 1]],
  // No directory fsyncs in this mode.
  atomic_nodirsync: [['sync', 14, 4], ['rename', 3, 3], ['create', 14, 2], ['pwrite', 24, 2], ['mkdir', 3, 1]],
  // Never syncs or renames: kill after its writes instead.
  unsafe: [['create', 14, 3], ['pwrite', 24, 3], ['close', 14, 2], ['mkdir', 3, 1]],
};

export function drawKillPlan(seed: number, modeIndex: number, trial: number, mode: DurabilityMode): KillPlan {
  const rng = new SeededRandom(seed, 0x706c616e /* 'plan' */, modeIndex, trial);
  const u = rng.nextFloat();
  if (u < 0.5) return { kind: 'uniform', fraction: rng.nextFloat() };
  if (u < 0.65) return { kind: 'after-commit', commits: 1 + rng.nextInt(3) };
  const table = OPS_BY_MODE[mode];
  let pick = rng.nextInt(table.reduce((s, [, , w]) => s + w, 0));
  for (const [kind, maxN, weight] of table) {
    if (pick < weight) return { kind: 'after-op', op: { kind, n: 1 + rng.nextInt(maxN) } };
    pick -= weight;
  }
  throw new Error('unreachable');
}

export function describeKillPlan(p: KillPlan, windowMs?: number): string {
  if (p.kind === 'uniform') {
    const at = windowMs === undefined ? '' : ` = ${(p.fraction * windowMs).toFixed(1)} ms`;
    return `uniform kill at ${p.fraction.toFixed(4)} of the window${at} after ready`;
  }
  if (p.kind === 'after-commit') return `kill on committed line #${p.commits}`;
  return `self-kill after ${formatKillAfterOp(p.op)}`;
}
