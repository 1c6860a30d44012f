/**
 * A nearly full file system for the concurrency campaign: a small tmpfs
 * mounted under the scratch directory, filled with a ballast file until only
 * `headroomMiB` are left, so saves run into ENOSPC while gc frees space.
 * Mounting needs root (or CAP_SYS_ADMIN); where it is refused the variant is
 * skipped and the reason reported, never faked.
 */
import { execFile } from 'node:child_process';
import { posix as path } from 'node:path';
import { promisify } from 'node:util';
import type { FileSystem } from '../fs/file-system.js';
import { ensureDir, removeTree } from '../fs/file-utils.js';

const run = promisify(execFile);
const MIB = 1024 * 1024;

export interface NearlyFullMount {
  /** Where stores go (inside the mount). */
  dir: string;
  sizeMiB: number;
  headroomMiB: number;
  unmount(): Promise<void>;
}

export async function mountNearlyFull(fs: FileSystem, at: string, sizeMiB: number, headroomMiB: number): Promise<NearlyFullMount | { skipped: string }> {
  await ensureDir(fs, at);
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0700`, 'tmpfs', at]);
  } catch (e) {
    await removeTree(fs, at).catch(() => undefined);
    return { skipped: `cannot mount a ${sizeMiB} MiB tmpfs at ${at} (needs root): ${String((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}` };
  }
  const unmount = async (): Promise<void> => {
    await run('umount', [at]).catch(() => run('umount', ['-l', at]));
    await removeTree(fs, at).catch(() => undefined);
  };
  try {
    const ballast = await fs.open(path.join(at, 'ballast'), 'create');
    try {
      const chunk = new Uint8Array(4 * MIB).fill(0x5a);
      const target = (sizeMiB - headroomMiB) * MIB;
      for (let written = 0; written < target; written += chunk.byteLength) await ballast.pwrite(chunk.subarray(0, Math.min(chunk.byteLength, target - written)), written);
    } finally {
      await ballast.close();
    }
  } catch (e) {
    await unmount();
    throw e;
  }
  return { dir: at, sizeMiB, headroomMiB, unmount };
}
