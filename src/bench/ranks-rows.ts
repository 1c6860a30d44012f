/**
 * The many-ranks rows (`holdfast bench --ranks`): one global state (the
 * gpt2-small workload, scaled) saved by 1, 2 and 4 real rank processes
 * (`rank-save-child.ts`, started together), each writing its flat slice of
 * every tensor through `openStore(dir, { rank, worldSize, attempt })`, beside
 * fio with as many jobs each writing an equal share; the leader's commit
 * (manifest and commit, after every record was there) beside the data write;
 * then the checkpoint saved by 4 restored by 4 reader processes (the same
 * world size) and by 3 (another), each reading only its parts
 * (`restore({ layout, into })`, full verification). Measured, never judged.
 */
import { posix as path } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileSystem } from '../fs/file-system.js';
import { removeTree } from '../fs/file-utils.js';
import { runTogether } from './barrier-children.js';
import { runFioJobs } from './fio-jobs.js';
import type { RankRestoreArgs, RankRestoreTimes } from './rank-restore-child.js';
import type { RankSaveArgs, RankSaveTimes } from './rank-save-child.js';
import { rankWorkload } from './rank-slices.js';
import { median } from './stats.js';

const SAVE_CHILD = fileURLToPath(new URL('./rank-save-child.js', import.meta.url));
const RESTORE_CHILD = fileURLToPath(new URL('./rank-restore-child.js', import.meta.url));
export const RANK_WORLD_SIZES = [1, 2, 4] as const;
/** Reader world sizes of the checkpoint saved by the largest world: the same one, then another. */
export const RESTORE_WORLD_SIZES = [4, 3] as const;

export interface RankSaveRow {
  worldSize: number;
  bytes: number;
  /** First rank's start to the leader's commit, per sample. */
  seconds: number[];
  /** First rank's start to the last rank's files and record written. */
  dataWriteSeconds: number[];
  /** The leader: from seeing every rank's record to its commit done (check, manifest, exclusive commit). */
  commitSeconds: number[];
  /** The leader: from the last record written to seeing it (its polling). */
  recordsSeenSeconds: number[];
  bytesPerSecond: number;
  /** CPU seconds of all rank processes together, per sample. */
  cpuSeconds: number[];
  /** fio, this many jobs each writing an equal share of the bytes, O_DIRECT, fsync at the end. */
  fioBytesPerSecond?: number;
  ratioToFio?: number;
}

export interface RankRestoreRow {
  savedBy: number;
  restoredBy: number;
  bytes: number;
  /** First reader's start to the last reader's end. */
  seconds: number[];
  /** CPU seconds of all reader processes together, per sample. */
  cpuSeconds: number[];
  bytesPerSecond: number;
  /** Against the restore into the same world size. */
  ratioToSameWorld: number;
}

export interface RanksReport {
  description: string;
  bytes: number;
  tensors: number;
  saves: RankSaveRow[];
  restores: RankRestoreRow[];
  fioCommands: string[];
}

export interface RanksOptions {
  /** Default: gpt2-small full size. */
  maxBytes?: number | undefined;
  repeat: number;
  hasFio: boolean;
  log: (line: string) => void;
}

export async function runRanks(fs: FileSystem, work: string, o: RanksOptions): Promise<RanksReport> {
  const workload = rankWorkload('gpt2-small', o.maxBytes);
  const report: RanksReport = { description: workload.description, bytes: workload.bytes, tensors: workload.tensors.length, saves: [], restores: [], fioCommands: [] };
  o.log(`[ranks] ${workload.description}: ${(workload.bytes / 2 ** 20).toFixed(1)} MiB, saved by ${RANK_WORLD_SIZES.join(', ')} rank processes`);
  let kept: { dir: string; step: number } | undefined;
  for (const worldSize of RANK_WORLD_SIZES) {
    const dir = path.join(work, `ranks-${worldSize}`);
    await fs.mkdir(dir);
    const fio: number[] = [];
    if (o.hasFio) fio.push(await fioJobs(fs, dir, workload.bytes, worldSize, report.fioCommands));
    const samples: RankSaveTimes[][] = [];
    for (let i = 0; i < o.repeat; i++) {
      const step = i + 1;
      const args = (rank: number): RankSaveArgs => ({ dir, rank, worldSize, attempt: `bench-${process.pid}-w${worldSize}-${i}`, workload: 'gpt2-small', ...(o.maxBytes === undefined ? {} : { maxBytes: o.maxBytes }), step });
      const ranks = await runTogether<RankSaveTimes>(`rank save child (world ${worldSize})`, SAVE_CHILD, Array.from({ length: worldSize }, (_, r) => [JSON.stringify(args(r))]));
      samples.push(ranks);
      const last = worldSize === RANK_WORLD_SIZES.at(-1) && i === o.repeat - 1;
      if (last) kept = { dir, step };
      else await removeTree(fs, ranks[0]!.path);
    }
    if (o.hasFio) fio.push(await fioJobs(fs, dir, workload.bytes, worldSize, report.fioCommands));
    report.saves.push(saveRow(worldSize, workload.bytes, samples, fio.length ? Math.max(...fio) : undefined));
    o.log(`[ranks] ${worldSize} ranks: ${(report.saves.at(-1)!.bytesPerSecond / 1e9).toFixed(2)} GB/s`);
  }
  for (const restoredBy of RESTORE_WORLD_SIZES) {
    const seconds: number[] = [];
    const cpuSeconds: number[] = [];
    for (let i = 0; i < o.repeat; i++) {
      const args = (rank: number): RankRestoreArgs => ({ dir: kept!.dir, rank, worldSize: restoredBy, step: kept!.step });
      const readers = await runTogether<RankRestoreTimes>(`rank restore child (world ${restoredBy})`, RESTORE_CHILD, Array.from({ length: restoredBy }, (_, r) => [JSON.stringify(args(r))]));
      seconds.push((Math.max(...readers.map((r) => r.endMs)) - Math.min(...readers.map((r) => r.startMs))) / 1000);
      cpuSeconds.push(readers.reduce((n, r) => n + r.cpuSeconds, 0));
    }
    const bytesPerSecond = workload.bytes / median(seconds);
    const same = report.restores[0]?.bytesPerSecond ?? bytesPerSecond;
    report.restores.push({ savedBy: RANK_WORLD_SIZES.at(-1)!, restoredBy, bytes: workload.bytes, seconds, cpuSeconds, bytesPerSecond, ratioToSameWorld: bytesPerSecond / same });
  }
  for (const worldSize of RANK_WORLD_SIZES) await removeTree(fs, path.join(work, `ranks-${worldSize}`));
  return report;
}

async function fioJobs(fs: FileSystem, dir: string, bytes: number, numjobs: number, commands: string[]): Promise<number> {
  const r = await runFioJobs(fs, dir, bytes, numjobs);
  if (!commands.includes(r.command)) commands.push(r.command);
  return r.bytesPerSecond;
}

function saveRow(worldSize: number, bytes: number, samples: RankSaveTimes[][], fio: number | undefined): RankSaveRow {
  const secondsOf = (f: (ranks: RankSaveTimes[], leader: RankSaveTimes, start: number) => number): number[] =>
    samples.map((ranks) => f(ranks, ranks.find((r) => r.rank === 0)!, Math.min(...ranks.map((r) => r.startMs))) / 1000);
  const seconds = secondsOf((_, leader, start) => leader.leaderCommittedMs! - start);
  const bytesPerSecond = bytes / median(seconds);
  return {
    worldSize,
    bytes,
    seconds,
    dataWriteSeconds: secondsOf((ranks, _, start) => Math.max(...ranks.map((r) => r.writtenMs)) - start),
    commitSeconds: secondsOf((_, leader) => leader.leaderCommittedMs! - leader.recordsCompleteMs!),
    recordsSeenSeconds: secondsOf((ranks, leader) => leader.recordsCompleteMs! - Math.max(...ranks.map((r) => r.writtenMs))),
    bytesPerSecond,
    cpuSeconds: samples.map((ranks) => ranks.reduce((n, r) => n + r.cpuSeconds, 0)),
    ...(fio === undefined ? {} : { fioBytesPerSecond: fio, ratioToFio: bytesPerSecond / fio }),
  };
}
