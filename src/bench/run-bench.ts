/**
 * The benchmark itself (`holdfast bench`). Contract: for each workload it
 * measures, in one run and on one directory, fio's O_DIRECT sequential write
 * and read of the same byte count (the physical limit), the two naive
 * baselines, and Holdfast's public store API in every durability mode and I/O
 * method; then restore with full verification and the training-loop pause of
 * `saveAsync`; and the limits of the machine below the disk's: SHA-256 on
 * every hashing worker with no I/O, and reading the checkpoint's files into
 * (or merely touching) freshly allocated memory, which every restore pays and
 * fio's read into one reused buffer never does. Every Holdfast checkpoint is
 * deleted after it is measured, so the disk holds one checkpoint at a time.
 * It asserts nothing about speed: it reports numbers and ratios; the targets
 * are judged in docs/PERFORMANCE.md.
 */
import { posix as path } from 'node:path';
import { tensorBytes, type Tensor } from '../format/dtype.js';
import type { FileSystem } from '../fs/file-system.js';
import { ensureDirTree, removeTree } from '../fs/file-utils.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { allocAligned } from '../io/aligned-memory.js';
import { sharedHashWorkerPool } from '../io/hash-worker-pool.js';
import { sharedStagingMemory } from '../io/staging-memory.js';
import { writeFileParts } from '../io/write-file-parts.js';
import { readFilesHashed } from '../io/read-file-hashed.js';
import { openStore } from '../store/open-store.js';
import { saveAsync } from '../store/save-async.js';
import { DURABILITY_MODES, type DurabilityMode, type Store } from '../store/types.js';
import { hashOnly, readIntoFreshMemory, touchFreshMemory, writeOneFilePerTensor, writeSingleFile } from './baselines.js';
import { BufferedOnlyFileSystem } from './buffered-only-file-system.js';
import { fioAvailable, removeFioFile, runFio, type FioResult } from './fio.js';
import { describeMachine, type MachineInfo } from './machine.js';
import { median, percentile } from './stats.js';
import { makeWorkload, materialize, type WorkloadName } from './workloads.js';

interface BenchOptions {
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
  /** `limit`: a cost of this machine that bounds Holdfast below the disk (hashing, fresh memory). */
  kind: 'fio' | 'baseline' | 'holdfast' | 'io-layer' | 'limit';
  mode?: DurabilityMode;
  method?: 'direct' | 'buffered';
  bytes: number;
  seconds: number[];
  /** CPU time of the whole process (every thread: main, hashing workers, I/O threads) per run, when measured. */
  cpuSeconds?: number[];
  /** Median over runs of CPU time / wall time: how many cores the run kept busy (2 = all of a 2-core machine). */
  cores?: number;
  /** Median bandwidth. */
  bytesPerSecond: number;
  /** Of the median against the fio limit of the same direction. */
  ratioToFio?: number;
  /** Restore rows: of the median against reading the same files into fresh memory without hashing. */
  ratioToFreshRead?: number;
  note?: string;
}

interface LatencyRow {
  mode: DurabilityMode;
  method: 'direct' | 'buffered';
  samples: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** p50 against the same method's `unsafe` p50, minus one. */
  overheadVsUnsafe: number;
}

interface AsyncPause {
  bytes: number;
  /** Duration of the first saveAsync call, which returns with the snapshot taken (staging memory allocated and faulted in). */
  firstPauseMs: number;
  /** The first call again, after `sharedStagingMemory().reserve(bytes)` (outside the pause) allocated the staging memory. */
  reservedFirstPauseMs: number;
  /** Median of the following ones (staging memory reused). */
  steadyPauseMs: number;
  /** One plain copy of every tensor into already-touched memory: the target. */
  memcpyMs: number;
  /** One plain copy of every tensor into newly allocated memory: what the first call is up against. */
  freshMemcpyMs: number;
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
  /** Reading the checkpoint's files into freshly allocated memory, no hashing: what any restore into new memory is bounded by. */
  freshReadLimit?: number;
  /** SHA-256 of the same byte count on every hashing worker at once, in memory: what full verification is bounded by. */
  hashLimit?: number;
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

/** CPU seconds of each run, kept beside the wall-clock seconds pushed into the same array by `sample`. */
const cpuOf = new WeakMap<number[], number[]>();

/** Runs `f`, pushes its wall-clock seconds into `into` and records the process's CPU seconds for it. */
async function sample<T>(into: number[], f: () => Promise<T>): Promise<T> {
  const c0 = process.cpuUsage();
  const [sec, v] = await timed(f);
  const c = process.cpuUsage(c0);
  into.push(sec);
  let cpu = cpuOf.get(into);
  if (cpu === undefined) cpuOf.set(into, (cpu = []));
  cpu.push((c.user + c.system) / 1e6);
  return v;
}

function measurement(m: Omit<Measurement, 'bytesPerSecond'>, limit: number | undefined): Measurement {
  const bytesPerSecond = m.bytes / median(m.seconds);
  const cpu = cpuOf.get(m.seconds);
  const withCpu = cpu === undefined ? {} : { cpuSeconds: cpu, cores: median(cpu.map((c, i) => c / m.seconds[i]!)) };
  return { ...m, ...withCpu, bytesPerSecond, ...(limit === undefined ? {} : { ratioToFio: bytesPerSecond / limit }) };
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
    await sample(perTensor, () => writeOneFilePerTensor(fs, d, tensors));
    await removeTree(fs, d);
    const f = path.join(dir, `single-${i}.bin`);
    await sample(single, () => writeSingleFile(fs, f, tensors));
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
        const result = await sample(samples, () => stores[method].save(s, { tensors, state: { step: s } }, { durability: mode }));
        if (method === 'direct' && mode === 'atomic_dirsync' && i === repeat - 1) lastCommitted = { store: stores[method], step: s, bytes: result.bytes };
        else await removeTree(fs, result.path);
      }
      saveSamples.set(`${mode}/${method}`, samples);
      log(`save ${mode} ${method}: median ${(w.bytes / median(samples) / 1e9).toFixed(2)} GB/s`);
    }
  }

  // The io layer alone with the state cut into two files written in parallel, one per hashing
  // worker: the store's own data path without planning, staging directory, manifest or renames.
  const ioLayer: number[] = [];
  const halves = splitInTwo(Object.values(tensors));
  for (let i = 0; i < Math.min(repeat, 3); i++) {
    const d = path.join(dir, `io-${i}`);
    await fs.mkdir(d);
    const header = new Uint8Array(4096);
    await sample(ioLayer, () =>
      Promise.all(halves.map((h, k) => writeFileParts(fs, path.join(d, `p${k}`), [header, ...h.map(tensorBytes)], { sync: true, ioMethod: 'direct' }))),
    );
    await fs.syncDir(d);
    await removeTree(fs, d);
  }

  // The CPU limit of full verification: SHA-256 of the same byte count on every hashing worker at
  // once, from memory that is already touched (up to 256 MiB of the state, hashed round and round).
  const hashers = sharedHashWorkerPool();
  const hashMemory = allocAligned(Math.min(w.bytes, 256 * 1024 * 1024));
  {
    let off = 0;
    for (const t of Object.values(tensors)) {
      if (off >= hashMemory.byteLength) break;
      const b = tensorBytes(t).subarray(0, hashMemory.byteLength - off);
      hashMemory.set(b, off);
      off += b.byteLength;
    }
  }
  const hashSamples: number[] = [];
  for (let i = 0; i < Math.min(repeat, 3); i++) await sample(hashSamples, () => hashOnly(hashers, hashMemory, w.bytes, Math.max(1, hashers.size)));

  // Restore with full verification of the last atomic_dirsync direct checkpoint.
  const restoreSamples: number[] = [];
  const verifyOnly: number[] = [];
  const freshRead: number[] = [];
  const freshTouch: number[] = [];
  if (lastCommitted !== undefined) {
    const { store, step: s } = lastCommitted;
    for (let i = 0; i < Math.min(repeat, small ? repeat : 3); i++) {
      await sample(restoreSamples, () => store.restore(s));
    }
    const manifest = await store.inspect(s);
    const ckptDir = path.join(store.root, `ckpt-${String(s).padStart(12, '0')}`);
    const files = manifest.files.map((f) => ({ path: path.join(ckptDir, f.path), expectedSizeBytes: f.size }));
    for (let i = 0; i < Math.min(repeat, 3); i++) await sample(verifyOnly, () => readFilesHashed(fs, files, { keep: false }));
    // What restoring into new memory costs before any hashing: the same files read into fresh
    // buffers (2 files at a time, as verification does), and the page faults of that memory alone.
    const sized = manifest.files.map((f) => ({ path: path.join(ckptDir, f.path), sizeBytes: f.size }));
    for (let i = 0; i < Math.min(repeat, 3); i++) await sample(freshRead, () => readIntoFreshMemory(fs, sized, 2));
    for (let i = 0; i < Math.min(repeat, 3); i++) await sample(freshTouch, async () => touchFreshMemory(sized.map((f) => f.sizeBytes)).length);
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
  const hashRow = (limit: number | undefined): Measurement =>
    measurement({ label: `limit: SHA-256 only, ${Math.max(1, hashers.size)} hashing workers at once, in memory, no I/O`, kind: 'limit', bytes: w.bytes, seconds: hashSamples }, limit);
  save.push(hashRow(fioWriteLimit));
  let freshReadLimit: number | undefined;
  if (restoreSamples.length) {
    freshReadLimit = bytes / median(freshRead);
    const rows = [
      measurement({ label: 'Holdfast restore + full verify (store.restore)', kind: 'holdfast', method: 'direct', bytes, seconds: restoreSamples }, fioReadLimit),
      measurement({ label: 'io layer: read + verify into reused buffers, files in parallel, direct', kind: 'io-layer', method: 'direct', bytes, seconds: verifyOnly }, fioReadLimit),
      measurement({ label: 'limit: read into fresh memory, no hashing, files in parallel, direct', kind: 'limit', method: 'direct', bytes, seconds: freshRead }, fioReadLimit),
      measurement({ label: 'limit: first touch of fresh memory of the same size, 1 thread, no I/O', kind: 'limit', bytes, seconds: freshTouch }, fioReadLimit),
      hashRow(fioReadLimit),
    ];
    for (const m of rows) restore.push({ ...m, ratioToFreshRead: m.bytesPerSecond / freshReadLimit });
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
    ...(freshReadLimit === undefined ? {} : { freshReadLimit }),
    hashLimit: w.bytes / median(hashSamples),
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
  const copyInto = (dst: Uint8Array): void => {
    let off = 0;
    for (const t of Object.values(tensors)) {
      dst.set(tensorBytes(t), off);
      off += t.data.byteLength;
    }
  };
  // One plain copy into memory that is already touched: the cost the pause should not exceed.
  const dst = new Uint8Array(bytes);
  const copy = (): number => {
    const t0 = performance.now();
    copyInto(dst);
    return performance.now() - t0;
  };
  copy();
  const memcpyMs = Math.min(copy(), copy());
  // The same copy into new memory: what any first copy of the state costs on this machine.
  const t1 = performance.now();
  copyInto(new Uint8Array(bytes));
  const freshMemcpyMs = performance.now() - t1;

  const staging = sharedStagingMemory();
  const pauses: number[] = [];
  const committed: number[] = [];
  const once = async (): Promise<number> => {
    const s = nextStep();
    const t0 = performance.now();
    const a = saveAsync(store, s, { tensors, state: { step: s } });
    // The slot is free, so the copy happened inside the call: its return is the end of the pause.
    const pause = performance.now() - t0;
    await a.snapshotted;
    const r = await a.committed;
    committed.push(performance.now() - t0);
    await removeTree(fs, r.path);
    return pause;
  };
  // First call of a process: no staging memory yet (an earlier workload's is dropped).
  staging.trim();
  for (let i = 0; i < Math.max(2, Math.min(repeat, 4)); i++) pauses.push(await once());
  // First call again, with the staging memory reserved up front, outside the pause.
  staging.trim();
  staging.reserve(bytes);
  const reservedFirstPauseMs = await once();
  return { bytes, firstPauseMs: pauses[0]!, reservedFirstPauseMs, steadyPauseMs: median(pauses.slice(1)), memcpyMs, freshMemcpyMs, committedMs: median(committed) };
}
