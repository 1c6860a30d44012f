/**
 * The benchmark itself (`holdfast bench`). Contract: for each workload it
 * measures, in one run and on one directory, fio's O_DIRECT sequential write
 * and read of the same byte count (the physical limit), the two naive
 * baselines, and Holdfast's public store API in every durability mode and I/O
 * method; then restore with full verification and the training-loop pause of
 * `saveAsync`. Every Holdfast checkpoint is deleted after it is measured, so
 * the disk holds one checkpoint at a time. It asserts nothing about speed: it
 * reports numbers and ratios; the targets are judged in docs/PERFORMANCE.md.
 */
import { posix as path } from 'node:path';
import { tensorBytes, type Tensor } from '../format/dtype.js';
import type { FileSystem } from '../fs/file-system.js';
import { ensureDirTree, removeTree } from '../fs/file-utils.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { writeFileParts } from '../io/write-file-parts.js';
import { readFilesHashed } from '../io/read-file-hashed.js';
import { openStore } from '../store/open-store.js';
import { saveAsync } from '../store/save-async.js';
import { DURABILITY_MODES, type DurabilityMode, type Store } from '../store/types.js';
import { writeOneFilePerTensor, writeSingleFile } from './baselines.js';
import { BufferedOnlyFileSystem } from './buffered-only-file-system.js';
import { fioAvailable, removeFioFile, runFio, type FioResult } from './fio.js';
import { describeMachine, type MachineInfo } from './machine.js';
import { median, percentile } from './stats.js';
import { makeWorkload, materialize, type WorkloadName } from './workloads.js';

export interface BenchOptions {
  dir: string;
  workloads: WorkloadName[];
  /** Scales the LLM workloads down to at most this many bytes (default: gpt2-small full size, 1b 1 GiB). */
  maxBytes?: number;
  repeat: number;
  quick: boolean;
  log: (line: string) => void;
}

export interface Measurement {
  label: string;
  kind: 'fio' | 'baseline' | 'holdfast' | 'io-layer';
  mode?: DurabilityMode;
  method?: 'direct' | 'buffered';
  bytes: number;
  seconds: number[];
  /** Median bandwidth. */
  bytesPerSecond: number;
  /** Of the median against the fio limit of the same direction. */
  ratioToFio?: number;
  note?: string;
}

export interface LatencyRow {
  mode: DurabilityMode;
  method: 'direct' | 'buffered';
  samples: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** p50 against the same method's `unsafe` p50, minus one. */
  overheadVsUnsafe: number;
}

export interface AsyncPause {
  bytes: number;
  /** Duration of the first saveAsync call, which returns with the snapshot taken (staging memory allocated and faulted in). */
  firstPauseMs: number;
  /** Median of the following ones (staging memory reused). */
  steadyPauseMs: number;
  /** One plain copy of every tensor into already-touched memory: the target. */
  memcpyMs: number;
  /** Median call-to-committed. */
  committedMs: number;
}

export interface WorkloadResult {
  name: WorkloadName;
  description: string;
  tensors: number;
  bytes: number;
  fioWriteLimit?: number;
  fioReadLimit?: number;
  save: Measurement[];
  restore: Measurement[];
  latency: LatencyRow[];
  async?: AsyncPause;
}

export interface BenchReport {
  startedAt: string;
  seconds: number;
  dir: string;
  machine: MachineInfo;
  options: { workloads: WorkloadName[]; maxBytes?: number; repeat: number; quick: boolean };
  fioCommands: string[];
  workloads: WorkloadResult[];
}

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
    options: { workloads: options.workloads, repeat: options.repeat, quick: options.quick, ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }) },
    fioCommands: [],
    workloads: [],
  };
  const hasFio = await fioAvailable();
  if (!hasFio) options.log('fio not found (apt-get install fio): ratios to the physical limit will be missing');
  try {
    for (const name of options.workloads) {
      const maxBytes = options.quick ? Math.min(options.maxBytes ?? QUICK_MAX_BYTES, QUICK_MAX_BYTES) : options.maxBytes ?? (name === '1b' ? DEFAULT_1B_BYTES : undefined);
      report.workloads.push(await benchWorkload(fs, work, name, maxBytes, options, hasFio, report.fioCommands));
    }
  } finally {
    await removeTree(fs, work);
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const v = await f();
  return [(performance.now() - t0) / 1000, v];
}

function measurement(m: Omit<Measurement, 'bytesPerSecond'>, limit: number | undefined): Measurement {
  const bytesPerSecond = m.bytes / median(m.seconds);
  return { ...m, bytesPerSecond, ...(limit === undefined ? {} : { ratioToFio: bytesPerSecond / limit }) };
}

async function benchWorkload(
  fs: FileSystem,
  work: string,
  name: WorkloadName,
  maxBytes: number | undefined,
  options: BenchOptions,
  hasFio: boolean,
  fioCommands: string[],
): Promise<WorkloadResult> {
  const w = makeWorkload(name, maxBytes);
  const log = (s: string): void => options.log(`[${name}] ${s}`);
  log(`${w.description}: ${w.tensors.length} tensors, ${(w.bytes / 2 ** 20).toFixed(1)} MiB`);
  const tensors = materialize(w);
  const small = name === 'small';
  const repeat = small ? Math.max(options.repeat, options.quick ? 5 : 20) : options.repeat;
  const dir = path.join(work, name);
  await fs.mkdir(dir);
  let step = 0;

  // fio: before and after Holdfast, the faster run counts (the disk's rate drifts on a shared host).
  const fioWrites: FioResult[] = [];
  const fioReads: FioResult[] = [];
  const runFios = async (): Promise<void> => {
    if (!hasFio) return;
    for (const [engine, depth] of [['psync', 1], ['libaio', 4]] as const) {
      fioWrites.push(await runFio(dir, 'write', w.bytes, engine, depth));
      fioReads.push(await runFio(dir, 'read', w.bytes, engine, depth));
      await removeFioFile(fs, dir);
    }
    for (const r of [...fioWrites.slice(-2), ...fioReads.slice(-2)]) if (!fioCommands.includes(r.command)) fioCommands.push(r.command);
  };
  await runFios();

  // Naive baselines.
  const perTensor: number[] = [];
  const single: number[] = [];
  for (let i = 0; i < Math.min(repeat, small ? repeat : 2); i++) {
    const d = path.join(dir, `naive-${i}`);
    perTensor.push((await timed(() => writeOneFilePerTensor(fs, d, tensors)))[0]);
    await removeTree(fs, d);
    const f = path.join(dir, `single-${i}.bin`);
    single.push((await timed(() => writeSingleFile(fs, f, tensors)))[0]);
    await fs.unlink(f);
  }

  // Holdfast through the public store API, every mode and I/O method.
  const saveSamples = new Map<string, number[]>();
  const stores: Record<'direct' | 'buffered', Store> = {
    direct: await openStore(path.join(dir, 'store-direct')),
    buffered: await openStore(path.join(dir, 'store-buffered'), { fs: new BufferedOnlyFileSystem(fs) }),
  };
  let lastCommitted: { store: Store; step: number; bytes: number } | undefined;
  for (const method of ['direct', 'buffered'] as const) {
    for (const mode of DURABILITY_MODES) {
      const samples: number[] = [];
      for (let i = 0; i < repeat; i++) {
        const s = ++step;
        const [sec, result] = await timed(() => stores[method].save(s, { tensors, state: { step: s } }, { durability: mode }));
        samples.push(sec);
        if (method === 'direct' && mode === 'atomic_dirsync' && i === repeat - 1) lastCommitted = { store: stores[method], step: s, bytes: result.bytes };
        else await removeTree(fs, result.path);
      }
      saveSamples.set(`${mode}/${method}`, samples);
      log(`save ${mode} ${method}: median ${(w.bytes / median(samples) / 1e9).toFixed(2)} GB/s`);
    }
  }

  // The io layer alone with two shard files written in parallel: what the store reaches once it
  // writes its shards concurrently (each file's hash is sequential, so one file uses one worker).
  const ioLayer: number[] = [];
  const halves = splitInTwo(Object.values(tensors));
  for (let i = 0; i < Math.min(repeat, 3); i++) {
    const d = path.join(dir, `io-${i}`);
    await fs.mkdir(d);
    const header = new Uint8Array(4096);
    ioLayer.push(
      (
        await timed(() =>
          Promise.all(halves.map((h, k) => writeFileParts(fs, path.join(d, `p${k}`), [header, ...h.map(tensorBytes)], { sync: true, ioMethod: 'direct' }))),
        )
      )[0],
    );
    await fs.syncDir(d);
    await removeTree(fs, d);
  }

  // Restore with full verification of the last atomic_dirsync direct checkpoint.
  const restoreSamples: number[] = [];
  const verifyOnly: number[] = [];
  if (lastCommitted !== undefined) {
    const { store, step: s } = lastCommitted;
    for (let i = 0; i < Math.min(repeat, small ? repeat : 3); i++) {
      restoreSamples.push((await timed(() => store.restore(s)))[0]);
    }
    const manifest = await store.inspect(s);
    const ckptDir = path.join(store.root, `ckpt-${String(s).padStart(12, '0')}`);
    const files = manifest.files.map((f) => ({ path: path.join(ckptDir, f.path), expectedSizeBytes: f.size }));
    for (let i = 0; i < Math.min(repeat, 3); i++) verifyOnly.push((await timed(() => readFilesHashed(fs, files, { keep: false })))[0]);
  }
  await runFios();
  const fioWriteLimit = fioWrites.length ? Math.max(...fioWrites.map((r) => r.bytesPerSecond)) : undefined;
  const fioReadLimit = fioReads.length ? Math.max(...fioReads.map((r) => r.bytesPerSecond)) : undefined;

  // saveAsync: the training-loop pause against one plain copy of the state.
  const asyncResult = await benchAsync(stores.direct, tensors, w.bytes, repeat, () => ++step, fs);

  const bytes = lastCommitted?.bytes ?? w.bytes;
  const save: Measurement[] = [];
  const restore: Measurement[] = [];
  for (const r of fioWrites.slice(0, 2)) {
    const best = Math.max(...fioWrites.filter((x) => x.engine === r.engine).map((x) => x.bytesPerSecond));
    save.push(measurement({ label: `fio --direct=1 write, ${r.engine} qd${r.iodepth}`, kind: 'fio', bytes: r.bytes, seconds: [r.bytes / best] }, fioWriteLimit));
  }
  for (const r of fioReads.slice(0, 2)) {
    const best = Math.max(...fioReads.filter((x) => x.engine === r.engine).map((x) => x.bytesPerSecond));
    restore.push(measurement({ label: `fio --direct=1 read, ${r.engine} qd${r.iodepth}`, kind: 'fio', bytes: r.bytes, seconds: [r.bytes / best] }, fioReadLimit));
  }
  save.push(measurement({ label: 'one file per tensor, buffered + fsync each', kind: 'baseline', bytes: w.bytes, seconds: perTensor }, fioWriteLimit));
  save.push(measurement({ label: 'single file, buffered + fsync', kind: 'baseline', bytes: w.bytes, seconds: single }, fioWriteLimit));
  for (const method of ['direct', 'buffered'] as const) {
    for (const mode of DURABILITY_MODES) {
      save.push(measurement({ label: `Holdfast save, ${mode}, ${method}`, kind: 'holdfast', mode, method, bytes, seconds: saveSamples.get(`${mode}/${method}`)! }, fioWriteLimit));
    }
  }
  save.push(measurement({ label: 'io layer: 2 shard files in parallel, direct, fsync', kind: 'io-layer', method: 'direct', bytes: w.bytes + 2 * 4096, seconds: ioLayer }, fioWriteLimit));
  if (restoreSamples.length) {
    restore.push(measurement({ label: 'Holdfast restore + full verify (store.restore)', kind: 'holdfast', method: 'direct', bytes, seconds: restoreSamples }, fioReadLimit));
    restore.push(measurement({ label: 'io layer: verify only, files in parallel, direct', kind: 'io-layer', method: 'direct', bytes, seconds: verifyOnly }, fioReadLimit));
  }
  const latency: LatencyRow[] = [];
  for (const method of ['direct', 'buffered'] as const) {
    const unsafeP50 = median(saveSamples.get(`unsafe/${method}`)!);
    for (const mode of DURABILITY_MODES) {
      const ms = saveSamples.get(`${mode}/${method}`)!.map((s) => s * 1000);
      latency.push({ mode, method, samples: ms.length, p50Ms: percentile(ms, 50), p90Ms: percentile(ms, 90), p99Ms: percentile(ms, 99), overheadVsUnsafe: median(ms) / (unsafeP50 * 1000) - 1 });
    }
  }
  await removeTree(fs, dir);
  return {
    name,
    description: w.description,
    tensors: w.tensors.length,
    bytes,
    ...(fioWriteLimit === undefined ? {} : { fioWriteLimit }),
    ...(fioReadLimit === undefined ? {} : { fioReadLimit }),
    save,
    restore,
    latency,
    async: asyncResult,
  };
}

function splitInTwo(ts: Tensor[]): [Tensor[], Tensor[]] {
  const total = ts.reduce((n, t) => n + t.data.byteLength, 0);
  let acc = 0;
  const a: Tensor[] = [];
  const b: Tensor[] = [];
  for (const t of ts) {
    (acc < total / 2 ? a : b).push(t);
    acc += t.data.byteLength;
  }
  return [a, b];
}

async function benchAsync(store: Store, tensors: Record<string, Tensor>, bytes: number, repeat: number, nextStep: () => number, fs: FileSystem): Promise<AsyncPause> {
  // One plain copy into memory that is already touched: the cost the pause should not exceed.
  const dst = new Uint8Array(bytes);
  const copy = (): number => {
    const t0 = performance.now();
    let off = 0;
    for (const t of Object.values(tensors)) {
      dst.set(tensorBytes(t), off);
      off += t.data.byteLength;
    }
    return performance.now() - t0;
  };
  copy();
  const memcpyMs = Math.min(copy(), copy());
  const pauses: number[] = [];
  const committed: number[] = [];
  for (let i = 0; i < Math.max(2, Math.min(repeat, 4)); i++) {
    const s = nextStep();
    const t0 = performance.now();
    const a = saveAsync(store, s, { tensors, state: { step: s } });
    // The slot is free, so the copy happened inside the call: its return is the end of the pause.
    pauses.push(performance.now() - t0);
    await a.snapshotted;
    const r = await a.committed;
    committed.push(performance.now() - t0);
    await removeTree(fs, r.path);
  }
  return { bytes, firstPauseMs: pauses[0]!, steadyPauseMs: median(pauses.slice(1)), memcpyMs, committedMs: median(committed) };
}
