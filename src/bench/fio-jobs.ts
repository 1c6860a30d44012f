/**
 * fio with several jobs at once, each writing its own file of an equal share
 * of the bytes (`--numjobs`, O_DIRECT, psync 16 MiB blocks, fsync at the end
 * of each), the bandwidth of the group: what N rank processes writing their
 * shards of one state at the same time are up against on this disk.
 */
import { posix as path } from 'node:path';
import type { FileSystem } from '../fs/file-system.js';
import { statOrUndefined } from '../fs/file-utils.js';
import { exec } from './fio.js';

export interface FioJobsResult {
  numjobs: number;
  bytes: number;
  bytesPerSecond: number;
  command: string;
}

const FILE_PREFIX = 'fio-jobs';

export async function runFioJobs(fs: FileSystem, dir: string, bytes: number, numjobs: number): Promise<FioJobsResult> {
  const MiB = 1024 * 1024;
  const perJob = Math.max(MiB, Math.ceil(bytes / numjobs / MiB) * MiB);
  const args = [
    '--name=holdfast-bench-jobs',
    `--directory=${dir}`,
    `--filename_format=${FILE_PREFIX}.$jobnum`,
    '--rw=write',
    `--bs=${Math.min(16 * MiB, perJob)}`,
    `--size=${perJob}`,
    `--numjobs=${numjobs}`,
    '--group_reporting',
    '--direct=1',
    '--ioengine=psync',
    '--end_fsync=1',
    '--output-format=json',
  ];
  try {
    const out = await exec('fio', args);
    const job = JSON.parse(out.slice(out.indexOf('{'))).jobs[0];
    return { numjobs, bytes: perJob * numjobs, bytesPerSecond: job.write.bw_bytes, command: `fio ${args.join(' ')}` };
  } finally {
    for (let j = 0; j < numjobs; j++) {
      const p = path.join(dir, `${FILE_PREFIX}.${j}`);
      if ((await statOrUndefined(fs, p)) !== undefined) await fs.unlink(p);
    }
  }
}
