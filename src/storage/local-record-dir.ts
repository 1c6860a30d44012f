/**
 * Small records that appear whole and exactly once on a local store (rank
 * records, abort markers, epoch records). A record is a directory
 * `<parent>/<name>/` holding `record.json`: it is built under a hidden
 * temporary name, its file fsynced, then renamed into place. rename(2) of a
 * directory onto an existing non-empty one fails, so of two writers of one
 * name exactly one wins (a plain file rename would silently replace the
 * first), and a reader never sees a half-written record. With `syncDirs` the
 * new entry is fsynced into its parent before the create reports success.
 */
import { posix as path } from 'node:path';
import { isHoldfastError } from '../errors.js';
import { newNonce } from '../format/nonce.js';
import type { FileSystem } from '../fs/file-system.js';
import { readFileIfRegular, removeTree, statOrUndefined, writeNewFile } from '../fs/file-utils.js';

const RECORD_FILE = 'record.json';
/** Records are small JSON documents; a larger one is not ours. */
export const RECORD_MAX_BYTES = 64 * 1024 * 1024;

export async function createRecordDir(fs: FileSystem, parent: string, name: string, bytes: Uint8Array, syncDirs: boolean): Promise<boolean> {
  const final = path.join(parent, name);
  if ((await statOrUndefined(fs, final)) !== undefined) return false;
  const tmp = path.join(parent, `.${name}.${newNonce()}.tmp`);
  await fs.mkdir(tmp);
  try {
    await writeNewFile(fs, path.join(tmp, RECORD_FILE), bytes, { sync: true });
    if (syncDirs) await fs.syncDir(tmp);
    await fs.rename(tmp, final);
  } catch (e) {
    await removeTree(fs, tmp).catch(() => undefined);
    if ((await statOrUndefined(fs, final)) !== undefined) return false;
    throw e;
  }
  if (syncDirs) await fs.syncDir(parent);
  return true;
}

export function readRecordDir(fs: FileSystem, parent: string, name: string): Promise<Uint8Array | undefined> {
  return readFileIfRegular(fs, path.join(parent, name, RECORD_FILE), RECORD_MAX_BYTES);
}

/** Names of the records in `parent` (temporary ones, hidden, are not records); none when `parent` is missing. */
export async function listRecordDirs(fs: FileSystem, parent: string): Promise<string[]> {
  try {
    return (await fs.readdir(parent)).filter((n) => !n.startsWith('.')).sort();
  } catch (e) {
    if (isHoldfastError(e, 'HF_NOT_FOUND')) return [];
    throw e;
  }
}
