/**
 * The trials of the `torture ranks` campaign (scale-out note §8, cases 1–4):
 * which rank processes run, which one dies where, and what the trial may and
 * must end with. Every trial starts from a store whose newest checkpoint is
 * step 1 (saved by 4 ranks of an earlier incarnation, epoch 1); the new
 * incarnation records epoch 2, resumed from step 1, and saves step 2.
 */
import { SeededRandom } from '../fs/seeded-random.js';
import type { RanksChildConfig } from './ranks-child.js';

export const RANKS_WORLD = 4;
export const NEW_STEP = 2;
export const ZOMBIE_STEP = 3;

export type ProcessSpec = Omit<RanksChildConfig, 'where' | 'deadlineMs' | 'commitMarginMs'> & {
  /** S3: this process reaches the server through a fault proxy that loses the response of the first successful PUT of step 2's manifest. */
  loseManifestResponse?: true;
};

export interface RanksScenario {
  name: string;
  processes: ProcessSpec[];
  /** A commit of step 2 is allowed (no rank died before its record, nothing refused). */
  mayCommit: boolean;
  /** Step 2 should be committed (counted as a liveness miss when not, never as a violation: deadlines are timing). */
  mustCommit: boolean;
  /** Every rank must report step 2 committed, of its own attempt (nothing in the scenario may stop it). */
  everyRankCommits?: true;
}

type Backend = 'local' | 's3';

/** Where a rank can die, and whether the commit may still happen. Local-only ones kill after a file-system call. */
const FOLLOWER_KILLS: { what: string; kill: Pick<ProcessSpec, 'killAtPhase' | 'killAfterOp'>; local?: true; mayCommit: boolean }[] = [
  { what: 'before its data fsync', kill: { killAfterOp: { armAt: 'joined', op: 'pwrite:1' } }, local: true, mayCommit: false },
  { what: 'after its data fsync', kill: { killAfterOp: { armAt: 'joined', op: 'sync:1' } }, local: true, mayCommit: false },
  { what: 'with its files durable, before its record', kill: { killAtPhase: 'files-durable' }, mayCommit: false },
  { what: 'after its record', kill: { killAtPhase: 'record-written' }, mayCommit: true },
];

const LEADER_KILLS: { what: string; kill: Pick<ProcessSpec, 'killAtPhase' | 'killAfterOp'>; local?: true; mayCommit: boolean; mustCommit: boolean }[] = [
  { what: 'with every record in, before the manifest', kill: { killAtPhase: 'records-complete' }, mayCommit: false, mustCommit: false },
  { what: 'with the manifest sealed, before the commit', kill: { killAtPhase: 'manifest-ready' }, mayCommit: false, mustCommit: false },
  { what: 'during the commit (manifest written, staging fsynced, before the rename)', kill: { killAfterOp: { armAt: 'manifest-ready', op: 'syncdir:1' } }, local: true, mayCommit: false, mustCommit: false },
  { what: 'during the commit (after the rename, before the directory fsyncs)', kill: { killAfterOp: { armAt: 'manifest-ready', op: 'rename:1' } }, local: true, mayCommit: true, mustCommit: true },
  { what: 'after the commit, before reporting it', kill: { killAtPhase: 'committed' }, mayCommit: true, mustCommit: true },
];

function ranks(attempt: string, step: number, contentSeed: number, worldSize = RANKS_WORLD): ProcessSpec[] {
  return Array.from({ length: worldSize }, (_, rank) => ({ rank, worldSize, attempt, step, contentSeed, ...(rank === 0 ? { resumedFrom: 1 } : {}) }));
}

function withKill(ps: ProcessSpec[], rank: number, kill: Pick<ProcessSpec, 'killAtPhase' | 'killAfterOp' | 'failWrite'>): ProcessSpec[] {
  return ps.map((p) => (p.rank === rank ? { ...p, ...kill } : p));
}

export function ranksScenarios(backend: Backend, seed: number, full: boolean): RanksScenario[] {
  const random = new SeededRandom(seed, 0x7a);
  const follower = (): number => 1 + random.nextInt(RANKS_WORLD - 1);
  const followersToKill = full ? [1, 2, 3] : [follower()];
  const out: RanksScenario[] = [];
  const job = ranks('job-2', NEW_STEP, seed);
  out.push({ name: 'no fault', processes: job, mayCommit: true, mustCommit: true });
  const followerKills = FOLLOWER_KILLS.filter((k) => !(k.local && backend !== 'local'));
  for (const k of full ? followerKills : [followerKills[random.nextInt(followerKills.length)]!]) {
    for (const rank of followersToKill) out.push({ name: `kill rank ${rank} ${k.what}`, processes: withKill(job, rank, k.kill), mayCommit: k.mayCommit, mustCommit: k.mayCommit });
  }
  const leaderKills = LEADER_KILLS.filter((k) => !(k.local && backend !== 'local'));
  for (const k of full ? leaderKills : [leaderKills[random.nextInt(leaderKills.length)]!]) {
    out.push({ name: `kill the leader ${k.what}`, processes: withKill(job, 0, k.kill), mayCommit: k.mayCommit, mustCommit: k.mustCommit });
  }
  if (full) out.push({ name: 'kill the leader before its data fsync', processes: withKill(job, 0, { killAtPhase: 'joined' }), mayCommit: false, mustCommit: false });
  const failing = full ? [0, 1, 2, 3] : [random.nextInt(RANKS_WORLD)];
  for (const rank of failing) out.push({ name: `rank ${rank} writes an error record`, processes: withKill(job, rank, { failWrite: true }), mayCommit: false, mustCommit: false });
  const missing = full ? [1, 2, 3] : [follower()];
  for (const rank of missing) out.push({ name: `only ${RANKS_WORLD - 1} records (rank ${rank} never starts)`, processes: job.filter((p) => p.rank !== rank), mayCommit: false, mustCommit: false });
  if (backend === 's3') {
    out.push({
      name: "the leader's manifest PUT succeeds but its response is lost",
      processes: job.map((p) => (p.rank === 0 ? { ...p, loseManifestResponse: true as const } : p)),
      mayCommit: true,
      mustCommit: true,
      everyRankCommits: true,
    });
  }
  out.push({ name: 'two leaders of one attempt (two processes claim rank 0)', processes: [...job, { ...job[0]! }], mayCommit: true, mustCommit: false });
  out.push({
    name: 'two attempts race for one step (2 ranks each)',
    processes: [...ranks('job-2a', NEW_STEP, seed, 2), ...ranks('job-2b', NEW_STEP, seed + 1, 2)],
    mayCommit: true,
    // The older incarnation may win the step and then be fenced out by the newer one's epoch.
    mustCommit: false,
  });
  out.push({
    name: 'a zombie of the previous epoch saves step 3 while the new incarnation saves step 2',
    processes: [...job, ...ranks('job-1', ZOMBIE_STEP, seed + 2).map(({ resumedFrom: _, ...p }) => p)],
    mayCommit: true,
    mustCommit: false,
  });
  return out;
}
