/**
 * Holdfast's write and read paths in a process of its own, so the parent can
 * start it with a different libuv setup (`UV_USE_IO_URING=1`: libuv submits
 * file operations through io_uring instead of its thread pool). Contract:
 * `node io-path-child.js --dir D --workload W --max-bytes N --repeat R`
 * materializes workload W (scaled to N bytes), and for each I/O method
 * (direct; buffered through a file system that refuses O_DIRECT) does one
 * unmeasured save (workers, pools and page faults paid), then R timed
 * `save`s (atomic_dirsync) and R timed `restore`s with full verification of
 * the last one, and prints one JSON line (`IoPathResult`), including whether
 * libuv really opened an io_uring (its rings show in /proc/self/maps).
 */
import { runJsonChild } from './run-json-child.js';
import { posix as path } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openStore } from '../index.js';
import { removeTree } from '../fs/file-utils.js';
import { PosixFileSystem } from '../fs/posix-file-system.js';
import { BufferedOnlyFileSystem } from './buffered-only-file-system.js';
import { makeWorkload, materialize, parseWorkloadName } from './workloads.js';

export const IO_PATH_CHILD_PATH = fileURLToPath(new URL('./io-path-child.js', import.meta.url));

export interface IoPathResult {
  bytes: number;
  /** libuv's io_uring rings were mapped in the child: its file operations went through io_uring. */
  ioUring: boolean;
  methods: { method: 'direct' | 'buffered'; saveSeconds: number[]; restoreSeconds: number[] }[];
}

export interface IoPathRun {
  dir: string;
  workload: string;
  maxBytes: number | undefined;
  repeat: number;
}

/** Runs the child with `env` added to the parent's environment; rejects with its stderr when it fails. */
export function runIoPathChild(run: IoPathRun, env: NodeJS.ProcessEnv): Promise<IoPathResult> {
  const args = ['--dir', run.dir, '--workload', run.workload, '--repeat', String(run.repeat), ...(run.maxBytes === undefined ? [] : ['--max-bytes', String(run.maxBytes)])];
  return runJsonChild<IoPathResult>('io-path-child', IO_PATH_CHILD_PATH, args, env);
}

async function ioUringMapped(fs: PosixFileSystem): Promise<boolean> {
  const fh = await fs.open('/proc/self/maps', 'read');
  try {
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(1024 * 1024);
    for (let pos = 0; ; ) {
      const n = await fh.pread(buf, pos);
      if (n === 0) break;
      chunks.push(buf.slice(0, n));
      pos += n;
    }
    return Buffer.concat(chunks).toString('latin1').includes('io_uring');
  } finally {
    await fh.close();
  }
}

async function main(argv: string[]): Promise<IoPathResult> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i < 0 ? undefined : argv[i + 1];
  };
  const dir = arg('--dir');
  const repeat = Number(arg('--repeat') ?? '3');
  const maxBytes = arg('--max-bytes');
  if (dir === undefined || !(repeat >= 1)) throw new Error('usage: io-path-child --dir D --workload W [--max-bytes N] [--repeat R]');
  const workload = makeWorkload(parseWorkloadName(arg('--workload') ?? '1b'), maxBytes === undefined ? undefined : Number(maxBytes));
  const tensors = materialize(workload);
  const fs = new PosixFileSystem();
  const methods: IoPathResult['methods'] = [];
  for (const method of ['direct', 'buffered'] as const) {
    const root = path.join(dir, method);
    const store = await openStore(root, method === 'direct' ? {} : { fs: new BufferedOnlyFileSystem(fs) });
    try {
      let step = 0;
      const save = async (): Promise<number> => {
        const s = ++step;
        const t0 = performance.now();
        await store.save(s, { tensors, state: { step: s } });
        return (performance.now() - t0) / 1000;
      };
      await save();
      const saveSeconds: number[] = [];
      for (let i = 0; i < repeat; i++) saveSeconds.push(await save());
      const restoreSeconds: number[] = [];
      for (let i = 0; i < repeat; i++) {
        const t0 = performance.now();
        await store.restore(step);
        restoreSeconds.push((performance.now() - t0) / 1000);
      }
      methods.push({ method, saveSeconds, restoreSeconds });
    } finally {
      await store.close();
      await removeTree(fs, root);
    }
  }
  return { bytes: workload.bytes, ioUring: await ioUringMapped(fs), methods };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.stdout.write(JSON.stringify(await main(process.argv.slice(2))) + '\n');
  } catch (e) {
    process.stderr.write(`io-path-child: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  }
}
