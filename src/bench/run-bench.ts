/**
 * The benchmark itself (`holdfast bench`). Contract: for each workload it
 * measures, in one run and on one directory, fio's O_DIRECT sequential write
 * and read of the same byte count (the physical limit), the two naive
 * baselines, and Holdfast's public store API in every durability mode and I/O
 * method; then restore with full verification and the training-loop pause of
 * `saveAsync`; and the limits of the machine below the disk's. Every
 * Holdfast checkpoint is deleted after it is measured, so the disk holds one
 * checkpoint at a time. It asserts nothing about speed: it reports numbers
 * and ratios; the targets are judged in docs/PERFORMANCE.md.
 *
 * Rows of kind `holdfast` use only the public API (`openStore`, `save`,
 * `restore`, `inspect`, `saveAsync`); rows labelled `io layer:` or `limit:`
 * measure a lower layer on purpose. The steps live beside this file:
 * fio-rows.ts, save-steps.ts, limit-steps.ts, restore-steps.ts,
 * async-pause.ts, engine-rows.ts (fio's async engines, libuv io_uring),
 * aggregation-rows.ts (small tensors coalesced or not), staging-budget-rows.ts.
 */
import { posix as path } from 'node:path';
import { DURABILITY_MODES } from '../index.js';
import type { FileSystem } from '../fs/file-system.js';
import { ensureDirTree, removeTree } from '../fs/file-utils.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { aggregationRows, aggregationSteps } from './aggregation-rows.js';
import { asyncPause } from './async-pause.js';
import { engineRows, engineSweep } from './engine-rows.js';
import { encryptionRows } from './encryption-rows.js';
import { FioLimits, fioAvailable } from './fio-rows.js';
import { runGrowth } from './growth.js';
import { hashLimit } from './limit-steps.js';
import { describeMachine } from './machine.js';
import { restoreSteps, type RestoreSamples } from './restore-steps.js';
import { firstSaveRows, firstSaveSamples } from './fresh-process-steps.js';
import { restoreIntoRow, restoreIntoSamples } from './restore-into-steps.js';
import { measurement } from './sampling.js';
import { holdfastSaves, ioLayerWrite, IO_METHODS, naiveBaselines, saveKey, type HoldfastSaves } from './save-steps.js';
import { stagingBudgetRows } from './staging-budget-rows.js';
import { median, percentile } from './stats.js';
import type { BenchOptions, BenchReport, LatencyRow, Measurement, WorkloadResult } from './types.js';
import type { WorkloadRun } from './workload-run.js';
import { makeWorkload, materialize, type WorkloadName } from './workloads.js';
import { IoRuntime } from '../io/io-runtime.js';
import { runRanks } from './ranks-rows.js';
import { runS3Bench } from './s3-bench.js';


const QUICK_MAX_BYTES = 48 * 1024 * 1024;
const DEFAULT_1B_BYTES = 1024 * 1024 * 1024;

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const started = performance.now();
  const fs = new PosixFileSystem();
  const root = path.resolve(options.dir);
  await ensureDirTree(fs, root);
  const work = path.join(root, `holdfast-bench-${process.pid}-${Date.now()}`);
  await fs.mkdir(work);
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    seconds: 0,
    dir: root,
    machine: await describeMachine(root),
    options: {
      workloads: options.workloads,
      repeat: options.repeat,
      quick: options.quick,
      ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
      ...(options.growthMaxBytes === undefined ? {} : { growthMaxBytes: options.growthMaxBytes }),
    },
    fioCommands: [],
    workloads: [],
  };
  const hasFio = await fioAvailable();
  if (!hasFio) options.log('fio not found (apt-get install fio): ratios to the physical limit will be missing');
  const io = new IoRuntime();
  try {
    for (const name of options.workloads) {
      const maxBytes = options.quick ? Math.min(options.maxBytes ?? QUICK_MAX_BYTES, QUICK_MAX_BYTES) : options.maxBytes ?? (name === '1b' ? DEFAULT_1B_BYTES : undefined);
      report.workloads.push(await benchWorkload(fs, io, work, name, maxBytes, options, hasFio, report.fioCommands));
    }
    if (options.growthMaxBytes !== undefined) report.growth = await runGrowth(fs, work, { maxBytes: options.growthMaxBytes, quick: options.quick, repeat: options.repeat, log: options.log });
    if (options.s3 !== undefined) report.s3 = await runS3Bench(fs, work, { ...options.s3, repeat: options.repeat, log: options.log });
    if (options.ranks !== undefined) report.ranks = await runRanks(fs, work, { ...options.ranks, repeat: options.repeat, hasFio, log: options.log });
  } finally {
    await io.close();
    await removeTree(fs, work);
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

async function startWorkload(fs: FileSystem, io: IoRuntime, work: string, name: WorkloadName, maxBytes: number | undefined, options: BenchOptions): Promise<WorkloadRun> {
  const workload = makeWorkload(name, maxBytes);
  const log = (s: string): void => options.log(`[${name}] ${s}`);
  log(`${workload.description}: ${workload.tensors.length} tensors, ${(workload.bytes / 2 ** 20).toFixed(1)} MiB`);
  const tensors = materialize(workload);
  const small = name === 'small';
  const dir = path.join(work, name);
  await fs.mkdir(dir);
  let step = 0;
  return { fs, dir, name, workload, tensors, repeat: small ? Math.max(options.repeat, options.quick ? 5 : 20) : options.repeat, small, log, nextStep: () => ++step, io };
}

/** Every step in the order it runs (fio before and after, so a drifting disk shows), then the rows. */
async function benchWorkload(fs: FileSystem, io: IoRuntime, work: string, name: WorkloadName, maxBytes: number | undefined, options: BenchOptions, hasFio: boolean, fioCommands: string[]): Promise<WorkloadResult> {
  const run = await startWorkload(fs, io, work, name, maxBytes, options);
  const fio = new FioLimits(run, hasFio, fioCommands);
  await fio.measure();
  const naive = await naiveBaselines(run);
  const saves = await holdfastSaves(run);
  const ioLayer = await ioLayerWrite(run);
  const hash = await hashLimit(run);
  const restore = saves.kept === undefined ? undefined : await restoreSteps(run, saves.kept);
  const restoreInto = saves.kept === undefined ? undefined : await restoreIntoSamples(run, saves.kept);
  const encrypted = await encryptionRows(run, fio.writeLimit, fio.readLimit);
  await fio.measure();
  const pause = await asyncPause(run, saves.stores.direct);
  const firstSaves = await firstSaveSamples(run, maxBytes);
  const engines = await engineSweep(run, hasFio);
  fio.include(engines.fio);
  const aggregation = run.small ? await aggregationSteps(run) : undefined;
  const steadySave = run.workload.bytes / median(saves.samples.get(saveKey('atomic_dirsync', 'direct'))!);
  const stagingBudget = await stagingBudgetRows(run, steadySave);
  await removeTree(fs, run.dir);

  const bytes = saves.kept?.bytes ?? run.workload.bytes;
  const extra = [encrypted, engineRows(engines, fio.writeLimit, fio.readLimit), ...(aggregation === undefined ? [] : [aggregationRows(aggregation, fio.writeLimit, fio.readLimit)])];
  const hashRow = (limit: number | undefined): Measurement =>
    measurement({ label: `limit: SHA-256 only, ${hash.workers} hashing workers at once, in memory, no I/O`, kind: 'limit', bytes: run.workload.bytes, seconds: hash.seconds }, limit);
  const restoreRows = restore === undefined ? undefined : readRows(restore, bytes, fio.readLimit, hashRow);
  const intoRows = restoreRows === undefined || restoreInto === undefined ? [] : [restoreIntoRow(restoreInto, bytes, fio.readLimit, restoreRows.freshReadLimit)];
  return {
    name,
    description: run.workload.description,
    tensors: run.workload.tensors.length,
    bytes,
    ...(fio.writeLimit === undefined ? {} : { fioWriteLimit: fio.writeLimit }),
    ...(fio.readLimit === undefined ? {} : { fioReadLimit: fio.readLimit }),
    ...(restoreRows === undefined ? {} : { freshReadLimit: restoreRows.freshReadLimit }),
    hashLimit: run.workload.bytes / median(hash.seconds),
    save: [...fio.writeRows(), ...writeRows(run, naive, saves, ioLayer, bytes, fio.writeLimit), ...firstSaveRows(firstSaves, fio.writeLimit), hashRow(fio.writeLimit), ...extra.flatMap((e) => e.save)],
    restore: [
      ...fio.readRows(),
      ...(restoreRows?.rows.slice(0, 1) ?? []),
      ...intoRows,
      ...(restoreRows?.rows.slice(1) ?? []),
      ...extra.flatMap((e) => e.restore).map((m) => withFreshRatio(m, restoreRows?.freshReadLimit)),
    ],
    latency: latencyRows(saves),
    async: pause,
    ...(stagingBudget === undefined ? {} : { stagingBudget }),
  };
}

function writeRows(run: WorkloadRun, naive: { perTensor: number[]; single: number[] }, saves: HoldfastSaves, ioLayer: number[], bytes: number, limit: number | undefined): Measurement[] {
  const rows = [
    measurement({ label: 'one file per tensor, buffered + fsync each', kind: 'baseline', bytes: run.workload.bytes, seconds: naive.perTensor }, limit),
    measurement({ label: 'single file, buffered + fsync', kind: 'baseline', bytes: run.workload.bytes, seconds: naive.single }, limit),
  ];
  for (const method of IO_METHODS) {
    for (const mode of DURABILITY_MODES) {
      rows.push(measurement({ label: `Holdfast save, ${mode}, ${method}`, kind: 'holdfast', mode, method, bytes, seconds: saves.samples.get(saveKey(mode, method))! }, limit));
    }
  }
  rows.push(measurement({ label: 'io layer: 2 shard files in parallel, direct, fsync', kind: 'io-layer', method: 'direct', bytes: run.workload.bytes + 2 * 4096, seconds: ioLayer }, limit));
  return rows;
}

/** Restore rows, each also against reading the same files into fresh memory without hashing. */
function readRows(r: RestoreSamples, bytes: number, limit: number | undefined, hashRow: (limit: number | undefined) => Measurement): { rows: Measurement[]; freshReadLimit: number } {
  const freshReadLimit = bytes / median(r.freshRead);
  const rows = [
    measurement({ label: 'Holdfast restore + full verify (store.restore)', kind: 'holdfast', method: 'direct', bytes, seconds: r.restore }, limit),
    measurement({ label: 'io layer: read + verify into reused buffers, files in parallel, direct', kind: 'io-layer', method: 'direct', bytes, seconds: r.verifyOnly }, limit),
    measurement({ label: 'limit: read into fresh memory, no hashing, files in parallel, direct', kind: 'limit', method: 'direct', bytes, seconds: r.freshRead }, limit),
    measurement({ label: 'limit: first touch of fresh memory of the same size, 1 thread, no I/O', kind: 'limit', bytes, seconds: r.freshTouch }, limit),
    hashRow(limit),
  ];
  return { rows: rows.map((m) => ({ ...m, ratioToFreshRead: m.bytesPerSecond / freshReadLimit })), freshReadLimit };
}

function withFreshRatio(m: Measurement, freshReadLimit: number | undefined): Measurement {
  return m.kind === 'fio' || freshReadLimit === undefined ? m : { ...m, ratioToFreshRead: m.bytesPerSecond / freshReadLimit };
}

/** Save latency percentiles per mode and method, and the overhead over `unsafe`. */
function latencyRows(saves: HoldfastSaves): LatencyRow[] {
  const rows: LatencyRow[] = [];
  for (const method of IO_METHODS) {
    const unsafeP50 = median(saves.samples.get(saveKey('unsafe', method))!);
    for (const mode of DURABILITY_MODES) {
      const ms = saves.samples.get(saveKey(mode, method))!.map((s) => s * 1000);
      rows.push({ mode, method, samples: ms.length, p50Ms: percentile(ms, 50), p90Ms: percentile(ms, 90), p99Ms: percentile(ms, 99), overheadVsUnsafe: median(ms) / (unsafeP50 * 1000) - 1 });
    }
  }
  return rows;
}
