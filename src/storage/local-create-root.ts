/**
 * Creates a new store's directory (and missing ancestors), tolerating another
 * process creating the same directories at the same moment, and makes the
 * new entry durable in its parent when the store syncs directories.
 */
import { posix as path } from 'node:path';
import { isHoldfastError } from '../errors.js';
import type { FileSystem } from '../fs/file-system.js';
import { statOrUndefined } from '../fs/file-utils.js';

export async function ensureDirTreeDurably(fs: FileSystem, dir: string, syncDirs: boolean): Promise<void> {
  const parent = path.dirname(dir);
  if (parent !== dir && (await statOrUndefined(fs, parent)) === undefined) await ensureDirTreeDurably(fs, parent, false);
  try {
    await fs.mkdir(dir);
  } catch (e) {
    if (!(isHoldfastError(e) && e.data['errno'] === 'EEXIST' && (await statOrUndefined(fs, dir))?.type === 'directory')) throw e;
  }
  if (syncDirs) await fs.syncDir(parent);
}
