/**
 * The physical limit: fio (Debian's `fio` package) doing sequential O_DIRECT
 * writes and reads of the same byte count in the same directory. Contract:
 * `runFio` runs one job with `--output-format=json` and returns its bandwidth
 * and the exact command; when fio is missing it returns undefined (the
 * benchmark then reports ratios as unavailable instead of failing).
 * Two shapes are run and the faster counts as the limit: synchronous 16 MiB
 * pwrites (what one Node thread issues) and libaio at queue depth 4 (what the
 * disk can absorb): on the dev VM they differ by up to 2× (2.15 vs 3.9 GB/s).
 */
import { execFile } from 'node:child_process';
import { posix as path } from 'node:path';
import type { FileSystem } from '../fs/file-system.js';
import { statOrUndefined } from '../fs/file-utils.js';

/** psync: synchronous pwrite/pread, like one Node thread; libaio and io_uring: asynchronous, `iodepth` in flight. */
export type FioEngine = 'psync' | 'libaio' | 'io_uring';

export interface FioResult {
  rw: 'write' | 'read';
  engine: FioEngine;
  iodepth: number;
  bytes: number;
  bytesPerSecond: number;
  command: string;
}

export function exec(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr }));
      else resolve(stdout);
    });
  });
}

export async function fioAvailable(): Promise<boolean> {
  try {
    await exec('fio', ['--version']);
    return true;
  } catch {
    return false;
  }
}

export async function runFio(dir: string, rw: 'write' | 'read', bytes: number, engine: FioEngine, iodepth: number): Promise<FioResult> {
  const size = Math.max(1024 * 1024, Math.ceil(bytes / (1024 * 1024)) * 1024 * 1024);
  const args = [
    '--name=holdfast-bench',
    `--filename=${path.join(dir, 'fio.bench')}`,
    `--rw=${rw}`,
    `--bs=${Math.min(16 * 1024 * 1024, size)}`,
    `--size=${size}`,
    '--direct=1',
    `--ioengine=${engine}`,
    `--iodepth=${iodepth}`,
    ...(rw === 'write' ? ['--end_fsync=1'] : []),
    '--output-format=json',
  ];
  const out = await exec('fio', args);
  const job = JSON.parse(out.slice(out.indexOf('{'))).jobs[0];
  const stats = rw === 'write' ? job.write : job.read;
  return { rw, engine, iodepth, bytes: size, bytesPerSecond: stats.bw_bytes, command: `fio ${args.join(' ')}` };
}

export async function removeFioFile(fs: FileSystem, dir: string): Promise<void> {
  const p = path.join(dir, 'fio.bench');
  if ((await statOrUndefined(fs, p)) !== undefined) await fs.unlink(p);
}
