/**
 * The power-loss oracle (rule R12, docs/CRASH-MODEL.md): open the store on one crash
 * state, restore, and say what came back and whether that was allowed.
 *
 * Outcomes (one per state):
 * - `newest-committed`: the checkpoint under test, bit-exact. Expected once its
 *   commit had completed; before that it is a bonus (the save was durable
 *   earlier than it reported).
 * - `previous-committed`: the newest earlier checkpoint, bit-exact, while the
 *   save under test had not completed its commit. Allowed.
 * - `nothing-valid`: `HF_NO_VALID_CHECKPOINT` when nothing had been committed
 *   yet. Allowed.
 * - `lost-committed`: something older than the newest checkpoint whose commit
 *   had completed, or nothing. A violation in `atomic_dirsync`; in `unsafe`
 *   and `atomic_nodirsync` it is the failure the campaign must show.
 * - `torn-returned`: restore handed back bytes that differ from every
 *   committed content. Never allowed in any mode: verification on load must
 *   catch every torn file.
 * - `restore-crashed`: restore threw something other than
 *   `HF_NO_VALID_CHECKPOINT`. Never allowed: every crash state must load.
 *
 * "Committed" is judged at the end of the commit protocol (`commitDoneAt`,
 * the first op of the best-effort, unsynced `audit.log` line that `save()`
 * appends before it returns), which is earlier, so stricter, than "save()
 * returned".
 *
 * When the checkpoint under test is not what came back, `why` names the
 * reason read off the crash state, which is how the report explains the
 * failures of the weaker modes.
 */
import { posix as path } from 'node:path';
import { isHoldfastError } from '../errors.js';
import { MANIFEST_FILE, checkpointDirName } from '../format/names.js';
import type { CrashState } from '../fs/crash-model.js';
import { MemoryFileSystem } from '../fs/memory-file-system.js';
import { lookupTree, type MemoryTree } from '../fs/memory-tree.js';
import type { Op } from '../fs/op-log.js';
import { IoRuntime } from '../io/io-runtime.js';
import { verifyCheckpoint } from '../restore/verify-checkpoint.js';
import { localCheckpointReader } from '../storage/local-reader.js';
import { openStore } from '../store/open-store.js';
import type { DurabilityMode, StoreEvent } from '../store/types.js';
import { fileNamesOf, restoredDigest, STORE_ROOT, type ShapeSave } from './powerloss-shapes.js';
import { trialRuntime } from './trial-runtime.js';

type PowerlossOutcome = 'newest-committed' | 'previous-committed' | 'nothing-valid' | 'lost-committed' | 'torn-returned' | 'restore-crashed';

export const POWERLOSS_OUTCOMES: readonly PowerlossOutcome[] = [
  'newest-committed',
  'previous-committed',
  'nothing-valid',
  'lost-committed',
  'torn-returned',
  'restore-crashed',
];

/** What the oracle knows about one recorded save. */
export interface RecordedSave {
  mode: DurabilityMode;
  /** Step under test and the steps committed before it (durable in the initial tree), ascending. */
  step: number;
  earlierSteps: number[];
  /** Expected content digest and save of every step. */
  expected: ReadonlyMap<number, { digest: string; save: ShapeSave }>;
  log: readonly Op[];
  /** Crash points ≥ this follow the commit's last op. */
  commitDoneAt: number;
  /** Log length when `save()` resolved (≥ commitDoneAt; the difference is the audit line). */
  returnedAt: number;
  /** Index of the rename that installs the checkpoint (atomic modes), or -1. */
  renameIndex: number;
  /** Staging directory of the save under test (atomic modes), or undefined. */
  stagingDir: string | undefined;
}

export interface PowerlossVerdict {
  outcome: PowerlossOutcome;
  /** The checkpoint whose commit had completed last (the one restore owes), or null. */
  owed: number | null;
  /** The step restore returned, or null. */
  restoredStep: number | null;
  /** Steps restore quarantined on this state. */
  quarantined: number[];
  /** Why the checkpoint under test was not returned (undefined when it was). */
  why: string | undefined;
  /** Message of an unexpected error or a content mismatch. */
  detail: string | undefined;
  /** Multi-rank saves: a rank or epoch record that is neither whole nor absent (integrity, every mode). */
  recordProblem?: string;
  /** Multi-rank saves: an epoch a leader was told it holds, or a committed manifest's epoch, that did not survive (fencing). */
  fencingProblem?: string;
  /** Multi-rank saves: the epoch the restored manifest carries. */
  restoredEpoch?: number;
}

/** One recorded save under test: the durable tree before it, its op log, and how a crash state of it is judged and resumed. */
export interface PowerlossRecording {
  /** The shape's name (powerloss-shapes.ts, or the multi-rank save's). */
  name: string;
  description: string;
  mode: DurabilityMode;
  initial: MemoryTree;
  log: readonly Op[];
  /** Crash points ≥ this follow the commit's last op (the commit was reported). */
  commitDoneAt: number;
  /** Multi-rank saves: crash points ≥ this follow the leader being told its epoch. */
  epochDoneAt?: number;
  judge(state: CrashState): Promise<PowerlossVerdict>;
  /** Redoes the save as a resumed run would; a problem, or undefined when it succeeded. */
  resume(state: CrashState, verdict: PowerlossVerdict): Promise<string | undefined>;
}

/** The op indexes a recorded save needs for judging: commit end, install rename, staging dir. */
export function describeRecordedSave(log: readonly Op[], mode: DurabilityMode, step: number): Pick<RecordedSave, 'commitDoneAt' | 'returnedAt' | 'renameIndex' | 'stagingDir'> {
  // After the commit come only the writer lease's release and the audit line, both best effort.
  const auditPath = path.join(STORE_ROOT, 'audit.log');
  const leaseDir = path.join(STORE_ROOT, '.lease');
  const afterCommit = (op: Op): boolean => ('path' in op ? op.path === auditPath || op.path.startsWith(leaseDir) : op.from.startsWith(leaseDir));
  let firstAudit = log.length;
  while (firstAudit > 0 && afterCommit(log[firstAudit - 1]!)) firstAudit--;
  const finalDir = path.join(STORE_ROOT, checkpointDirName(step));
  const renameIndex = mode === 'unsafe' ? -1 : log.findIndex((op) => op.kind === 'rename' && op.to === finalDir && op.error === undefined);
  const rename = renameIndex >= 0 ? log[renameIndex] : undefined;
  return {
    commitDoneAt: firstAudit,
    returnedAt: log.length,
    renameIndex,
    stagingDir: rename?.kind === 'rename' ? rename.from : undefined,
  };
}

/** The checkpoint restore owes at crash point k: the save under test once committed, else the newest earlier one. */
function owedStep(save: RecordedSave, crashPoint: number): number | null {
  if (crashPoint >= save.commitDoneAt) return save.step;
  return save.earlierSteps.length > 0 ? save.earlierSteps[save.earlierSteps.length - 1]! : null;
}

export async function judgeCrashState(state: CrashState, save: RecordedSave): Promise<PowerlossVerdict> {
  const owed = owedStep(save, state.crashPoint);
  const events: StoreEvent[] = [];
  const verdict = (outcome: PowerlossOutcome, restoredStep: number | null, detail?: string): PowerlossVerdict => ({
    outcome,
    owed,
    restoredStep,
    quarantined: events.flatMap((e) => (e.type === 'quarantined' ? [e.step] : [])),
    why: undefined,
    detail,
  });
  let result: PowerlossVerdict;
  try {
    const store = await openStore(STORE_ROOT, { runtime: trialRuntime(), fs: state.fs, durability: save.mode, create: false, onEvent: (e) => events.push(e) });
    const restored = await store.restore();
    const expected = save.expected.get(restored.step);
    const digest = expected === undefined ? undefined : await restoredDigest(state.fs, restored, expected.save.kind, fileNamesOf(expected.save));
    if (expected === undefined || digest !== expected.digest) {
      result = verdict('torn-returned', restored.step, `restore returned step ${restored.step} whose content matches no committed save`);
    } else if (restored.step === save.step) {
      result = verdict('newest-committed', restored.step);
    } else if (owed !== null && restored.step < owed) {
      result = verdict('lost-committed', restored.step);
    } else {
      result = verdict('previous-committed', restored.step);
    }
  } catch (e) {
    if (isHoldfastError(e, 'HF_NO_VALID_CHECKPOINT')) result = verdict(owed === null ? 'nothing-valid' : 'lost-committed', null);
    else result = verdict('restore-crashed', null, e instanceof Error ? `${e.name}${isHoldfastError(e) ? ` ${e.code}` : ''}: ${e.message}` : String(e));
  }
  if (result.restoredStep !== save.step && result.outcome !== 'restore-crashed') result.why = await whyNotNewest(state, save);
  return result;
}

/**
 * Why the checkpoint under test did not come back, read off the crash state
 * (the immutable tree, before restore moved anything):
 * - `not-yet-installed`: the crash came before its rename (atomic) or its
 *   manifest write (unsafe); nothing was lost.
 * - `rename-lost`: the rename happened but was not durable (its directory was
 *   not fsynced), so the staging directory is all that survived.
 * - `dir-entry-lost`: `unsafe` only: the `mkdir ckpt-<step>` was not durable.
 * - `manifest-entry-lost`: the directory is in place but `manifest.json`'s
 *   name (or its whole file) did not survive: a reader sees no checkpoint.
 * - `detected:<reason>`: the manifest is there but verification fails
 *   (`hash`, `size`, `missing`, `bad-manifest`, …): a torn checkpoint, caught
 *   and quarantined; restore rolled back.
 */
export async function whyNotNewest(state: CrashState, save: RecordedSave): Promise<string> {
  const tree: MemoryTree = state.tree;
  const finalDir = path.join(STORE_ROOT, checkpointDirName(save.step));
  const installed = lookupTree(tree, finalDir);
  if (installed?.type !== 'directory') {
    if (save.mode === 'unsafe') {
      const mkdirAt = save.log.findIndex((op) => op.kind === 'mkdir' && op.path === finalDir);
      return mkdirAt >= 0 && state.crashPoint > mkdirAt ? 'dir-entry-lost' : 'not-yet-installed';
    }
    return save.renameIndex >= 0 && state.crashPoint > save.renameIndex ? 'rename-lost' : 'not-yet-installed';
  }
  if (lookupTree(tree, path.join(finalDir, MANIFEST_FILE)) === undefined) {
    const manifestPath = save.mode === 'unsafe' ? path.join(finalDir, MANIFEST_FILE) : save.stagingDir === undefined ? '' : path.join(save.stagingDir, MANIFEST_FILE);
    const createdAt = save.log.findIndex((op) => op.kind === 'create' && op.path === manifestPath);
    return createdAt >= 0 && state.crashPoint > createdAt ? 'manifest-entry-lost' : 'not-yet-installed';
  }
  // Hashed inline (no workers): the files of a crash state are small and live in memory.
  const io = new IoRuntime({ hashWorkers: 0 });
  const reader = localCheckpointReader(MemoryFileSystem.fromTree(tree), finalDir, save.step);
  const check = await verifyCheckpoint(reader, { level: 'full', keepBytes: false, stopAtFirst: true, io }).finally(() => io.close());
  return check.ok ? 'verified-but-not-returned' : `detected:${check.problems[0]!.reason}`;
}
