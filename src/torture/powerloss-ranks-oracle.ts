/**
 * The power-loss oracle of the multi-rank save (powerloss-ranks.ts). On each
 * crash state:
 * - restore returns step 1 or step 2, bit for bit the global content of the
 *   attempt its manifest names, never torn or mixed; step 2 once the leader's
 *   commit had been reported (outcomes as powerloss-oracle.ts);
 * - every rank record and epoch record (in the staging area, in ckpt-2 and
 *   under epochs/) reads as exactly the bytes its writer wrote, or not at all
 *   (`recordProblem`: integrity, every mode);
 * - fencing survives (`fencingProblem`: durability): the epoch record the
 *   leader was told it holds is there once it was told, and the epoch the
 *   restored manifest carries is backed by its record (same attempt). A
 *   next incarnation then takes a higher epoch, which the resume check runs.
 */
import { posix as path } from 'node:path';
import { isHoldfastError } from '../errors.js';
import { canonicalJson } from '../format/canonical-json.js';
import { parseEpochRecord } from '../format/epoch-record.js';
import { ATTEMPT_RECORDS_DIR, EPOCHS_DIR, STAGING_DIR, checkpointDirName, epochRecordName, parseEpochRecordName, stagingDirName } from '../format/names.js';
import { sameBytes } from '../format/bytes.js';
import type { CrashState } from '../fs/crash-model.js';
import type { FileSystem } from '../fs/file-system.js';
import { MemoryFileSystem } from '../fs/memory-file-system.js';
import type { Op } from '../fs/op-log.js';
import { attemptNonce } from '../ranks/attempt-id.js';
import { listRecordDirs, readRecordDir } from '../storage/local-record-dir.js';
import { openStore } from '../store/open-store.js';
import type { DurabilityMode, StoreEvent } from '../store/types.js';
import { describeRecordedSave, whyNotNewest, type PowerlossVerdict } from './powerloss-oracle.js';
import { STORE_ROOT } from './powerloss-shapes.js';
import { firstDifference, globalContent } from './ranks-content.js';
import { trialRuntime } from './trial-runtime.js';

export const RANKS_POWERLOSS_WORLD = 4;
export const RANKS_CONTENT_SEED = 0x5eed;
const PREVIOUS_STEP = 1;
const STEP = 2;
const ATTEMPT_OF_STEP: Record<number, string> = { 1: 'job-1', 2: 'job-2' };

/** What the oracle knows about the recorded multi-rank save. */
export interface RanksSave {
  mode: DurabilityMode;
  log: readonly Op[];
  /** The leader's epoch, and the log length when it was told it (its record's creation returned). */
  epoch: number;
  epochDoneAt: number;
  /** Log length when the leader's commit was reported. */
  commitDoneAt: number;
  /** Every record's bytes as written, by store-relative directory of its record (`epochs/<E>`, `.staging/…/records/rank-0001`). */
  records: ReadonlyMap<string, Uint8Array>;
}

/** Record directories a multi-rank store can hold: the epochs, and the records of step 2's attempt before and after its commit. */
function recordParents(): string[] {
  const records = ATTEMPT_RECORDS_DIR;
  return [EPOCHS_DIR, path.join(STAGING_DIR, stagingDirName(STEP, attemptNonce('job-2')), records), path.join(checkpointDirName(STEP), records)];
}

/** Every record of the store as it is in `fs`, by store-relative directory (unreadable ones as undefined). */
async function recordsIn(fs: FileSystem): Promise<Map<string, Uint8Array | undefined>> {
  const out = new Map<string, Uint8Array | undefined>();
  for (const parent of recordParents()) {
    const dir = path.join(STORE_ROOT, parent);
    for (const name of await listRecordDirs(fs, dir)) out.set(path.join(parent, name), await readRecordDir(fs, dir, name).catch(() => undefined));
  }
  return out;
}

/**
 * The records as the save left them. A record written under the staging area moved with it into
 * ckpt-2, so each is known under both names.
 */
export async function recordBytesOf(fs: FileSystem): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const [, staged, committed] = recordParents();
  for (const [where, bytes] of await recordsIn(fs)) {
    if (bytes === undefined) continue;
    out.set(where, bytes);
    if (where.startsWith(committed!)) out.set(staged! + where.slice(committed!.length), bytes);
  }
  return out;
}

/** Epoch numbers present in the store (records that read or not). */
export async function epochsOf(fs: FileSystem): Promise<number[]> {
  return (await listRecordDirs(fs, path.join(STORE_ROOT, EPOCHS_DIR))).map(parseEpochRecordName).filter((e): e is number => e !== undefined);
}

/** A record that is neither absent nor exactly what its writer wrote. A record directory without its file reads as absent. */
async function recordProblem(fs: FileSystem, save: RanksSave): Promise<string | undefined> {
  for (const [where, bytes] of await recordsIn(fs)) {
    if (bytes === undefined) continue;
    const written = save.records.get(where);
    if (written === undefined) return `${where} holds ${bytes.byteLength} bytes no writer wrote there`;
    if (!sameBytes(bytes, written)) return `${where} is torn: ${bytes.byteLength} bytes that differ from the ${written.byteLength} written`;
  }
  return undefined;
}

/** The epoch of `nonce` recorded as epoch `epoch`, whole, in `fs`. */
async function epochBacked(fs: FileSystem, epoch: number, nonce: string): Promise<boolean> {
  const bytes = await readRecordDir(fs, path.join(STORE_ROOT, EPOCHS_DIR), epochRecordName(epoch)).catch(() => undefined);
  const record = bytes === undefined ? undefined : parseEpochRecord(bytes);
  return record?.epoch === epoch && record.nonce === nonce;
}

async function fencingProblem(fs: FileSystem, save: RanksSave, crashPoint: number, restored: { epoch: number | undefined; nonce: string } | undefined): Promise<string | undefined> {
  if (crashPoint >= save.epochDoneAt && !(await epochBacked(fs, save.epoch, attemptNonce('job-2')))) {
    return `epoch ${save.epoch}, which the leader had been told it holds, is gone: the next incarnation would take it again and not fence this one`;
  }
  if (restored?.epoch !== undefined && !(await epochBacked(fs, restored.epoch, restored.nonce))) {
    return `the restored checkpoint's epoch ${restored.epoch} has no record of its attempt`;
  }
  return undefined;
}

export async function judgeRanksState(state: CrashState, save: RanksSave): Promise<PowerlossVerdict> {
  const owed = state.crashPoint >= save.commitDoneAt ? STEP : PREVIOUS_STEP;
  const before = MemoryFileSystem.fromTree(state.tree);
  const events: StoreEvent[] = [];
  const verdict: PowerlossVerdict = { outcome: 'restore-crashed', owed, restoredStep: null, quarantined: [], why: undefined, detail: undefined };
  let restored: { epoch: number | undefined; nonce: string } | undefined;
  try {
    const store = await openStore(STORE_ROOT, { runtime: trialRuntime(), fs: state.fs, durability: save.mode, create: false, onEvent: (e) => events.push(e) });
    const r = await store.restore().finally(() => store.close());
    verdict.restoredStep = r.step;
    restored = { epoch: r.manifest.epoch ?? undefined, nonce: r.manifest.nonce };
    verdict.restoredEpoch = restored.epoch;
    const mismatch = contentMismatch(r.step, r.manifest.nonce, r.tensors, r.state);
    if (mismatch !== undefined) Object.assign(verdict, { outcome: 'torn-returned', detail: `step ${r.step}: ${mismatch}` });
    else verdict.outcome = r.step === STEP ? 'newest-committed' : r.step < owed ? 'lost-committed' : 'previous-committed';
  } catch (e) {
    if (isHoldfastError(e, 'HF_NO_VALID_CHECKPOINT')) verdict.outcome = 'lost-committed';
    else verdict.detail = e instanceof Error ? `${e.name}${isHoldfastError(e) ? ` ${e.code}` : ''}: ${e.message}` : String(e);
  }
  verdict.quarantined = events.flatMap((e) => (e.type === 'quarantined' ? [e.step] : []));
  if (verdict.restoredStep !== STEP && verdict.outcome !== 'restore-crashed') verdict.why = await whyNotNewest(state, asRecordedSave(save));
  const torn = await recordProblem(before, save);
  if (torn !== undefined) verdict.recordProblem = torn;
  const fencing = await fencingProblem(before, save, state.crashPoint, restored);
  if (fencing !== undefined) verdict.fencingProblem = fencing;
  return verdict;
}

function contentMismatch(step: number, nonce: string, tensors: Parameters<typeof firstDifference>[0], state: unknown): string | undefined {
  const attempt = ATTEMPT_OF_STEP[step];
  if (attempt === undefined || nonce !== attemptNonce(attempt)) return `carries attempt ${nonce}, which saved no such step`;
  const expected = globalContent(RANKS_CONTENT_SEED, step, RANKS_POWERLOSS_WORLD);
  const diff = firstDifference(tensors, expected.tensors);
  if (diff !== undefined) return `restores different bytes than ${attempt} saved: ${diff}`;
  return canonicalJson(state as never) === canonicalJson(expected.state) ? undefined : 'its state differs from what the leader saved';
}

/** What `whyNotNewest` reads: the install rename and staging directory of step 2's commit. */
function asRecordedSave(save: RanksSave): Parameters<typeof whyNotNewest>[1] {
  return { mode: save.mode, step: STEP, earlierSteps: [PREVIOUS_STEP], expected: new Map(), log: save.log, ...describeRecordedSave(save.log, save.mode, STEP), commitDoneAt: save.commitDoneAt };
}
