/**
 * Small compositions of `FileSystem` calls used across layers. Each is a
 * sequence of the interface's syscalls, so it behaves identically (and is
 * recorded identically) on every implementation.
 */
import { posix as path } from 'node:path';
import { isHoldfastError } from '../errors.js';
import type { FileSystem, FileStat } from './file-system.js';

/** lstat that answers `undefined` instead of throwing when nothing is there. */
export async function statOrUndefined(fs: FileSystem, p: string): Promise<FileStat | undefined> {
  try {
    return await fs.stat(p);
  } catch (e) {
    if (isHoldfastError(e, 'HF_NOT_FOUND')) return undefined;
    throw e;
  }
}

export async function readWholeFile(fs: FileSystem, p: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<Uint8Array> {
  const fh = await fs.open(p, 'read');
  try {
    const { sizeBytes } = await fh.stat();
    const size = Math.min(sizeBytes, maxBytes);
    const buf = new Uint8Array(size);
    const n = await fh.pread(buf, 0);
    return n === size ? buf : buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

/** The bytes of `p` when it is a regular file, undefined when absent or not a regular file; other errors propagate. */
export async function readFileIfRegular(fs: FileSystem, p: string, maxBytes: number): Promise<Uint8Array | undefined> {
  if ((await statOrUndefined(fs, p))?.type !== 'file') return undefined;
  try {
    return await readWholeFile(fs, p, maxBytes);
  } catch (e) {
    if (isHoldfastError(e, 'HF_NOT_FOUND')) return undefined; // removed between the stat and the open
    throw e;
  }
}

interface WriteNewFileOptions {
  /** fsync the file before closing (its name still needs a `syncDir` of the parent). */
  sync: boolean;
}

/** Creates `p` (must not exist), writes `data`, optionally fsyncs, closes. */
export async function writeNewFile(fs: FileSystem, p: string, data: Uint8Array, options: WriteNewFileOptions): Promise<void> {
  const fh = await fs.open(p, 'create');
  try {
    await fh.pwrite(data, 0);
    if (options.sync) await fh.sync();
  } finally {
    await fh.close();
  }
}

/** mkdir that tolerates an existing directory, also one created concurrently; returns true if it created it. */
export async function ensureDir(fs: FileSystem, p: string): Promise<boolean> {
  const st = await statOrUndefined(fs, p);
  if (st?.type === 'directory') return false;
  try {
    await fs.mkdir(p);
  } catch (e) {
    // Another process created it between our stat and our mkdir (two creators of one store).
    if (isHoldfastError(e) && e.data['errno'] === 'EEXIST' && (await statOrUndefined(fs, p))?.type === 'directory') return false;
    throw e;
  }
  return true;
}

/** mkdir -p: creates missing ancestors one syscall at a time. */
export async function ensureDirTree(fs: FileSystem, p: string): Promise<void> {
  const parent = path.dirname(p);
  if (parent !== p && (await statOrUndefined(fs, parent)) === undefined) await ensureDirTree(fs, parent);
  await ensureDir(fs, p);
}

/** rm -r of a tree made by Holdfast (regular files and directories only; symlinks are unlinked, not followed). */
export async function removeTree(fs: FileSystem, p: string): Promise<void> {
  const st = await statOrUndefined(fs, p);
  if (st === undefined) return;
  if (st.type !== 'directory') {
    await fs.unlink(p);
    return;
  }
  for (const name of await fs.readdir(p)) await removeTree(fs, path.join(p, name));
  await fs.rmdir(p);
}
