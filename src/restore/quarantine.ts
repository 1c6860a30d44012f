/**
 * Moves a checkpoint that failed verification to `.quarantine/` (DESIGN §8.4).
 * Never deletes: a false alarm, or a human investigating, must still find
 * every byte. The move is a rename within the store, made durable with the
 * same directory fsyncs as a commit, so a crash cannot resurrect it as the
 * newest checkpoint.
 */
import { posix as path } from 'node:path';
import { QUARANTINE_DIR, checkpointDirName } from '../format/names.js';
import type { FileSystem } from '../fs/file-system.js';
import { statOrUndefined } from '../fs/file-utils.js';

/** Returns the quarantined path. */
export async function quarantineCheckpoint(fs: FileSystem, root: string, step: number, dir: string): Promise<string> {
  const qdir = path.join(root, QUARANTINE_DIR);
  if ((await statOrUndefined(fs, qdir)) === undefined) {
    await fs.mkdir(qdir);
    await fs.syncDir(root);
  }
  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  let target = path.join(qdir, `${checkpointDirName(step)}-${stamp}`);
  for (let i = 1; (await statOrUndefined(fs, target)) !== undefined; i++) target = path.join(qdir, `${checkpointDirName(step)}-${stamp}-${i}`);
  await fs.rename(dir, target);
  await fs.syncDir(root);
  await fs.syncDir(qdir);
  return target;
}
