/**
 * io_uring beside O_DIRECT (issue 13): fio's asynchronous engines (libaio and
 * io_uring) at a few queue depths, which count toward the physical limit; and
 * Holdfast's own save and restore, direct and buffered, in a child process
 * with libuv's thread pool (`UV_USE_IO_URING=0`) and with libuv's io_uring
 * file operations (`UV_USE_IO_URING=1`). Measured and reported, never judged.
 *
 * Why a child process: libuv reads UV_USE_IO_URING once, when its loop
 * starts, so the setting cannot change inside the benchmark's own process.
 */
import { posix as path } from 'node:path';
import { removeFioFile, runFio, type FioEngine, type FioResult } from './fio.js';
import { runIoPathChild, type IoPathResult } from './io-path-child.js';
import { measurement } from './sampling.js';
import type { Measurement } from './types.js';
import type { WorkloadRun } from './workload-run.js';

const ENGINES: readonly FioEngine[] = ['libaio', 'io_uring'];
const DEPTHS: readonly number[] = [1, 4, 16];

export interface EngineSweep {
  fio: FioResult[];
  /** Holdfast in a child process: libuv's thread pool, and libuv's io_uring. */
  threadPool: IoPathResult;
  ioUring: IoPathResult;
}

export async function engineSweep(run: WorkloadRun, hasFio: boolean): Promise<EngineSweep> {
  const fio: FioResult[] = [];
  for (const engine of hasFio ? ENGINES : []) {
    try {
      for (const depth of DEPTHS) {
        fio.push(await runFio(run.dir, 'write', run.workload.bytes, engine, depth));
        fio.push(await runFio(run.dir, 'read', run.workload.bytes, engine, depth));
        await removeFioFile(run.fs, run.dir);
      }
    } catch (e) {
      // A kernel may refuse io_uring (kernel.io_uring_disabled) or lack libaio: no row, and why.
      run.log(`fio ${engine} refused, no rows for it: ${String((e as { stderr?: string }).stderr ?? (e as Error).message).trim().split('\n')[0]}`);
      await removeFioFile(run.fs, run.dir);
    }
  }
  const child = { dir: path.join(run.dir, 'io-path'), workload: run.name, maxBytes: run.workload.bytes, repeat: run.small ? run.repeat : Math.min(run.repeat, 3) };
  const threadPool = await runIoPathChild(child, { UV_USE_IO_URING: '0' });
  const ioUring = await runIoPathChild(child, { UV_USE_IO_URING: '1' });
  run.log(`libuv io_uring in the child: ${ioUring.ioUring ? 'in use' : 'NOT in use (kernel or libuv refused it)'}`);
  return { fio, threadPool, ioUring };
}

export function engineRows(s: EngineSweep, writeLimit: number | undefined, readLimit: number | undefined): { save: Measurement[]; restore: Measurement[] } {
  const fioRow = (r: FioResult, limit: number | undefined): Measurement =>
    measurement({ label: `fio --direct=1 ${r.rw}, ${r.engine} qd${r.iodepth}`, kind: 'fio', bytes: r.bytes, seconds: [r.bytes / r.bytesPerSecond] }, limit);
  const save = s.fio.filter((r) => r.rw === 'write').map((r) => fioRow(r, writeLimit));
  const restore = s.fio.filter((r) => r.rw === 'read').map((r) => fioRow(r, readLimit));
  for (const [libuv, result] of [['libuv thread pool (UV_USE_IO_URING=0)', s.threadPool], ['libuv io_uring (UV_USE_IO_URING=1)', s.ioUring]] as const) {
    const note = result.ioUring ? 'io_uring rings mapped in the child' : 'no io_uring ring in the child: libuv used its thread pool';
    for (const m of result.methods) {
      save.push(measurement({ label: `Holdfast save, atomic_dirsync, ${m.method}, own process, ${libuv}`, kind: 'holdfast', mode: 'atomic_dirsync', method: m.method, bytes: result.bytes, seconds: m.saveSeconds, note }, writeLimit));
      const cache = m.method === 'buffered' ? ', page cache warm' : '';
      restore.push(measurement({ label: `Holdfast restore + full verify, ${m.method}${cache}, own process, ${libuv}`, kind: 'holdfast', method: m.method, bytes: result.bytes, seconds: m.restoreSeconds, note }, readLimit));
    }
  }
  return { save, restore };
}
