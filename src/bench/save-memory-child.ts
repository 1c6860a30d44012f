/**
 * One `saveAsync` in a process of its own, to measure what it costs in
 * memory and in pause (`holdfast bench` and test/bench/staging-budget-memory
 * run it). Contract: `node save-memory-child.js --dir D --state-mib S
 * [--budget-mib B] [--shard-mib F] [--warm-up]` builds a state of S MiB (16 F32 tensors of
 * equal size, every page written), then calls `saveAsync` with that staging
 * budget (none when omitted), after one unmeasured save with `--warm-up`
 * (workers started, pools and staging faulted in: the steady state of a
 * training loop), awaits `snapshotted` (the pause) and `committed`,
 * and prints one JSON line (`SaveMemoryResult`): resident memory before the
 * state existed, after it was built, and at its peak (the kernel's VmHWM,
 * which no sampling interval can miss), and the pause.
 *
 * Why a child: resident memory is a property of a whole process; in the
 * benchmark's own process earlier workloads and pools would hide it.
 */
import { runJsonChild } from './run-json-child.js';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openStore, type Tensor } from '../index.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';

export const SAVE_MEMORY_CHILD_PATH = fileURLToPath(new URL('./save-memory-child.js', import.meta.url));
const MiB = 1024 * 1024;
const TENSORS = 16;

export interface SaveMemoryResult {
  stateBytes: number;
  budgetBytes: number | null;
  /** Resident set before the state was allocated (Node, the modules, the open store). */
  rssBeforeStateBytes: number;
  /** Resident set once the state was built, before the save. */
  rssWithStateBytes: number;
  /** VmHWM at the end: the most the process ever had resident (warm-up save included). */
  peakRssBytes: number;
  /** Bytes the snapshot copied, and left to be written from the caller's arrays. */
  stagedBytes: number;
  deferredBytes: number;
  copyMs: number;
  /** Call to `snapshotted`: how long the training loop could not touch its tensors. */
  pauseMs: number;
  /** Call to `committed`. */
  committedMs: number;
}

/** Runs the child and parses its line; rejects with its stderr when it fails. */
export interface SaveMemoryRun {
  stateMib: number;
  /** Staging budget; none when omitted. */
  budgetMib?: number | undefined;
  /** The store's shard size (default the store's default, 256 MiB): the budget's granularity. */
  shardMib?: number | undefined;
  /** One unmeasured save first: measure the steady state rather than a process's first save. */
  warmUp?: boolean;
}

export function runSaveMemoryChild(dir: string, run: SaveMemoryRun, env: NodeJS.ProcessEnv = {}): Promise<SaveMemoryResult> {
  const args = ['--dir', dir, '--state-mib', String(run.stateMib)];
  if (run.budgetMib !== undefined) args.push('--budget-mib', String(run.budgetMib));
  if (run.shardMib !== undefined) args.push('--shard-mib', String(run.shardMib));
  if (run.warmUp === true) args.push('--warm-up');
  return runJsonChild<SaveMemoryResult>('save-memory-child', SAVE_MEMORY_CHILD_PATH, args, env);
}

/** A field of /proc/self/status in bytes (the kernel reports kB). */
async function procStatusBytes(field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const fs = new PosixFileSystem();
  const fh = await fs.open('/proc/self/status', 'read');
  try {
    const buf = new Uint8Array(64 * 1024);
    const n = await fh.pread(buf, 0);
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(new TextDecoder().decode(buf.subarray(0, n)));
    if (m === null) throw new Error(`/proc/self/status has no ${field} line`);
    return Number(m[1]) * 1024;
  } finally {
    await fh.close();
  }
}

function buildState(stateBytes: number): Record<string, Tensor> {
  const each = Math.floor(stateBytes / TENSORS / 4) * 4;
  const tensors: Record<string, Tensor> = {};
  for (let i = 0; i < TENSORS; i++) {
    const data = new Float32Array(each / 4);
    // Every page written, so it is resident, and no two tensors alike.
    data.fill(i + 0.5);
    tensors[`layer.${String(i).padStart(2, '0')}.weight`] = { dtype: 'F32', shape: [data.length], data };
  }
  return tensors;
}

async function main(argv: string[]): Promise<SaveMemoryResult> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i < 0 ? undefined : argv[i + 1];
  };
  const dir = arg('--dir');
  const stateMib = Number(arg('--state-mib'));
  const budget = arg('--budget-mib');
  const shard = arg('--shard-mib');
  if (dir === undefined || !(stateMib > 0)) throw new Error('usage: save-memory-child --dir D --state-mib S [--budget-mib B] [--shard-mib F]');
  const budgetBytes = budget === undefined ? null : Math.round(Number(budget) * MiB);
  const store = await openStore(dir, {
    ...(budgetBytes === null ? {} : { stagingBudgetBytes: budgetBytes }),
    ...(shard === undefined ? {} : { shardSizeBytes: Math.round(Number(shard) * MiB) }),
  });
  try {
    const rssBeforeStateBytes = await procStatusBytes('VmRSS');
    const tensors = buildState(stateMib * MiB);
    const stateBytes = Object.values(tensors).reduce((n, t) => n + t.data.byteLength, 0);
    const rssWithStateBytes = await procStatusBytes('VmRSS');
    if (argv.includes('--warm-up')) await store.saveAsync(1, { tensors, state: { stateMib } }).committed;
    let snap = { bytes: 0, copyMs: 0, deferredBytes: 0 };
    const t0 = performance.now();
    const h = store.saveAsync(2, { tensors, state: { stateMib } }, { onSnapshot: (s) => (snap = s) });
    await h.snapshotted;
    const pauseMs = performance.now() - t0;
    await h.committed;
    const committedMs = performance.now() - t0;
    const peakRssBytes = await procStatusBytes('VmHWM');
    return { stateBytes, budgetBytes, rssBeforeStateBytes, rssWithStateBytes, peakRssBytes, stagedBytes: snap.bytes, deferredBytes: snap.deferredBytes, copyMs: snap.copyMs, pauseMs, committedMs };
  } finally {
    await store.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.stdout.write(JSON.stringify(await main(process.argv.slice(2))) + '\n');
  } catch (e) {
    process.stderr.write(`save-memory-child: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  }
}
