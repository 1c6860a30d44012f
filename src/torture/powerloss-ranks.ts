/**
 * The power-loss campaign's multi-rank save (`4-ranks`, local backend): one
 * recording of a whole 4-rank save of step 2 on one in-memory file system,
 * after step 1 was committed by an earlier incarnation (epoch 1): the new
 * leader's epoch record (tmp + fsync + rename + directory fsync), each rank's
 * shard file and rank record, the leader's SHA256SUMS, manifest and commit
 * rename. The four ranks run concurrently in this process, so their calls
 * interleave in the log as they would on one shared file system; a power cut
 * ends them all at once. Every crash state of that log is then judged by
 * powerloss-ranks-oracle.ts.
 */
import { isHoldfastError } from '../errors.js';
import type { CrashState } from '../fs/crash-model.js';
import type { FileSystem } from '../fs/file-system.js';
import { MemoryFileSystem } from '../fs/memory-file-system.js';
import type { MemoryTree } from '../fs/memory-tree.js';
import type { Op } from '../fs/op-log.js';
import { RecordingFileSystem } from '../fs/recording-file-system.js';
import { IoRuntime } from '../io/io-runtime.js';
import { openStore } from '../store/open-store.js';
import type { RankPhase } from '../store/rank-store.js';
import type { DurabilityMode } from '../store/types.js';
import type { PowerlossRecording, PowerlossVerdict } from './powerloss-oracle.js';
import { epochsOf, judgeRanksState, RANKS_CONTENT_SEED, RANKS_POWERLOSS_WORLD, recordBytesOf, type RanksSave } from './powerloss-ranks-oracle.js';
import { STORE_ROOT } from './powerloss-shapes.js';
import { globalContent, rankInput } from './ranks-content.js';
import { trialRuntime } from './trial-runtime.js';

/** The shape name `--shape` and the presets use. */
export const RANKS_SHAPE = '4-ranks';
/**
 * A backstop only: every rank of these saves is alive, and a failure settles at once through an
 * error record or the abort marker. Long, so a loaded machine never turns into a failed save.
 */
const DEADLINE_MS = 60_000;

export interface RanksSaveMarks {
  /** The leader was told its epoch. */
  epoch?: (epoch: number) => void;
  /** The leader reached a phase (`committed`: its commit is reported). */
  leaderPhase?: (phase: RankPhase) => void;
}

/**
 * `job.attempt`'s 4 ranks save `job.step` (or, with `'next'`, the step after the one restored) on
 * `fs`, with that step's global content. The leader first records its epoch, resumed from
 * `job.resumedFrom`, or from the step it restores with `'restore'`. Returns the leader's epoch and
 * the step saved.
 */
export async function ranksSave(
  fs: FileSystem,
  mode: DurabilityMode,
  io: IoRuntime,
  job: { attempt: string; step: number | 'next'; resumedFrom: number | null | 'restore' },
  marks: RanksSaveMarks = {},
): Promise<{ epoch: number; step: number }> {
  const stores = await Promise.all(
    Array.from({ length: RANKS_POWERLOSS_WORLD }, (_, rank) =>
      openStore(STORE_ROOT, { fs, runtime: io, durability: mode, create: false, rank, worldSize: RANKS_POWERLOSS_WORLD, attempt: job.attempt, deadlineMs: DEADLINE_MS, commitMarginMs: DEADLINE_MS, ...(rank === 0 && marks.leaderPhase ? { onPhase: marks.leaderPhase } : {}) }),
    ),
  );
  try {
    const leader = stores[0]!;
    const restored = job.resumedFrom === 'restore' ? (await leader.restore()).step : job.resumedFrom;
    const epoch = await leader.startEpoch(restored);
    marks.epoch?.(epoch);
    const step = job.step === 'next' ? (restored ?? 0) + 1 : job.step;
    const content = globalContent(RANKS_CONTENT_SEED, step, RANKS_POWERLOSS_WORLD);
    await Promise.all(stores.map((s, rank) => s.save(step, rankInput(content, rank, RANKS_POWERLOSS_WORLD))));
    return { epoch, step };
  } finally {
    for (const s of stores) await s.close();
  }
}

export async function recordRanksSave(mode: DurabilityMode, engineFs?: (fs: FileSystem) => FileSystem): Promise<PowerlossRecording> {
  // Inline hashing: no worker threads, so the ranks' calls interleave the same way on every recording.
  const io = new IoRuntime({ hashWorkers: 0 });
  try {
    const mem = new MemoryFileSystem();
    await (await openStore(STORE_ROOT, { fs: mem, runtime: io, durability: mode })).close();
    await ranksSave(mem, mode, io, { attempt: 'job-1', step: 1, resumedFrom: null });
    const initial: MemoryTree = mem.snapshot();
    const inner = MemoryFileSystem.fromTree(initial);
    const rec = new RecordingFileSystem(inner, { recording: false });
    let epochDoneAt = -1;
    let commitDoneAt = -1;
    rec.start();
    const { epoch } = await ranksSave(engineFs?.(rec) ?? rec, mode, io, { attempt: 'job-2', step: 2, resumedFrom: 1 }, {
      epoch: () => (epochDoneAt = rec.log.length),
      leaderPhase: (phase) => {
        if (phase === 'committed') commitDoneAt = rec.log.length;
      },
    });
    rec.stop();
    const log: readonly Op[] = [...rec.log];
    const save: RanksSave = { mode, log, epoch, epochDoneAt, commitDoneAt, records: await recordBytesOf(inner) };
    return {
      name: RANKS_SHAPE,
      description:
        `a ${RANKS_POWERLOSS_WORLD}-rank save of step 2 (attempt job-2) after step 1 of an earlier incarnation (epoch 1): the leader's epoch record ${epoch} (tmp dir + fsync + rename + directory fsync), ` +
        `${RANKS_POWERLOSS_WORLD} rank files and ${RANKS_POWERLOSS_WORLD} rank records in .staging/2-<nonce>/, SHA256SUMS, the 2.0 manifest and the leader's commit rename; the ranks run concurrently, so their calls interleave (atomic modes only: unsafe cannot host multi-rank saves)`,
      mode,
      initial,
      log,
      commitDoneAt,
      epochDoneAt,
      judge: (state) => judgeRanksState(state, save),
      resume: (state, verdict) => resumeRanks(state, save, verdict),
    };
  } finally {
    await io.close();
  }
}

/**
 * The next incarnation (job-3) after the power cut, as a resumed job runs it: its leader restores
 * (recording its epoch, resumed from the step it found), and all 4 ranks save the next step. Its
 * epoch must exceed every epoch a leader was told before the cut and the restored checkpoint's, so
 * the old incarnation stays fenced; and its save must commit. A problem, or undefined.
 */
async function resumeRanks(state: CrashState, save: RanksSave, verdict: PowerlossVerdict): Promise<string | undefined> {
  const before = await epochsOf(state.fs);
  const told = state.crashPoint >= save.epochDoneAt ? save.epoch : 1;
  const floor = Math.max(told, verdict.restoredEpoch ?? 0, ...before);
  try {
    const { epoch, step } = await ranksSave(state.fs, save.mode, trialRuntime(), { attempt: 'job-3', step: 'next', resumedFrom: 'restore' });
    if (epoch <= floor) return `the next incarnation took epoch ${epoch}, not above ${floor}: the previous one is not fenced`;
    const store = await openStore(STORE_ROOT, { fs: state.fs, runtime: trialRuntime(), create: false });
    const latest = await store.latest().finally(() => store.close());
    return latest?.step === step ? undefined : `after the next incarnation saved step ${step}, latest() is ${latest?.step ?? 'null'}`;
  } catch (e) {
    return isHoldfastError(e) ? e.code : e instanceof Error ? e.name : 'throw';
  }
}
