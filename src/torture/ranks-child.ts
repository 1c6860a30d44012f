/**
 * One rank process of the `torture ranks` campaign: opens the store as rank
 * `rank` of `worldSize` for `attempt`, saves `step` with the trial's content
 * and prints one line `result <json>` (committed, or the error code), unless
 * it SIGKILLs itself first: at a protocol phase (`killAtPhase`), or right
 * after the n-th file-system call of a kind, counted from a phase
 * (`killAfterOp`, local stores only). `failWrite` makes every data file fail,
 * so the rank leaves an error record.
 */
import { HoldfastError, isHoldfastError } from '../errors.js';
import type { FileSystem } from '../fs/file-system.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { openStore, type RankPhase } from '../index.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import { openLocalStorage } from '../storage/local-storage.js';
import { KillTriggerFileSystem, parseKillAfterOp } from './kill-trigger-file-system.js';
import { globalContent, rankInput } from './ranks-content.js';

export interface RanksChildConfig {
  where: string;
  rank: number;
  worldSize: number;
  attempt: string;
  step: number;
  contentSeed: number;
  deadlineMs: number;
  commitMarginMs: number;
  killAtPhase?: RankPhase;
  killAfterOp?: { armAt: RankPhase; op: string };
  failWrite?: boolean;
  /** Leader: record the epoch as resumed from this step before saving. */
  resumedFrom?: number | null;
}

export interface RanksChildResult {
  rank: number;
  outcome: 'committed' | 'rejected';
  code?: string;
  message?: string;
  /** On a commit: the attempt nonce the rank was told its checkpoint carries. */
  nonce?: string;
}

/** The storage with every data file of an attempt failing (ENOSPC), on either backend. */
function failingDataWrites(storage: CheckpointStorage): CheckpointStorage {
  const wrapped = Object.create(storage) as CheckpointStorage & { joinAttempt: NonNullable<CheckpointStorage['joinAttempt']> };
  wrapped.joinAttempt = async (step, nonce) => ({
    ...(await storage.joinAttempt!(step, nonce)),
    writeFile: (name) => Promise.reject(new HoldfastError('HF_IO', `injected: ${name}: no space left on device`, { data: { errno: 'ENOSPC' } })),
  });
  return wrapped;
}

async function openStorage(where: string, fs: FileSystem): Promise<CheckpointStorage> {
  if (!where.startsWith('s3://')) return openLocalStorage(fs, where, { durability: 'atomic_dirsync', create: false });
  const { S3Storage, parseS3Url } = await import('../storage/s3-storage.js');
  return new S3Storage(parseS3Url(where));
}

async function main(config: RanksChildConfig): Promise<void> {
  const posix = new PosixFileSystem();
  const trigger = config.killAfterOp === undefined ? undefined : new KillTriggerFileSystem(posix, parseKillAfterOp(config.killAfterOp.op));
  const fs: FileSystem = trigger ?? posix;
  const onPhase = (phase: RankPhase): void => {
    if (phase === config.killAfterOp?.armAt) trigger?.arm();
    if (phase === config.killAtPhase) process.kill(process.pid, 'SIGKILL');
  };
  const storage = await openStorage(config.where, fs);
  const store = await openStore({ storage: config.failWrite ? failingDataWrites(storage) : storage }, { fs, rank: config.rank, worldSize: config.worldSize, attempt: config.attempt, deadlineMs: config.deadlineMs, commitMarginMs: config.commitMarginMs, onPhase });
  let result: RanksChildResult;
  try {
    if (config.rank === 0 && config.resumedFrom !== undefined) await store.startEpoch(config.resumedFrom);
    const content = globalContent(config.contentSeed, config.step, config.worldSize);
    const saved = await store.save(config.step, rankInput(content, config.rank, config.worldSize));
    result = { rank: config.rank, outcome: 'committed', nonce: saved.nonce };
  } catch (e) {
    result = { rank: config.rank, outcome: 'rejected', code: isHoldfastError(e) ? e.code : 'unexpected', message: e instanceof Error ? e.message : String(e) };
  } finally {
    await store.close();
  }
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
}

main(JSON.parse(process.argv[2] ?? '{}') as RanksChildConfig).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
