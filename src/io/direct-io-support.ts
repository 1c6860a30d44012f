/**
 * Which directories accept O_DIRECT, learned once per (FileSystem, directory)
 * and kept by the io runtime (`DirectRefusals`). Contract: `openForWrite` creates `path` (O_EXCL) with O_DIRECT when the
 * caller wants it and the directory has not refused it before; when the open
 * is refused with EINVAL (tmpfs before Linux 6.6, some network and FUSE file
 * systems) it records the refusal, removes the empty file Linux may already
 * have created (the O_DIRECT check runs after O_CREAT, and O_EXCL proves the
 * file is ours), and opens buffered instead. Any other error propagates.
 */
import { posix as pathPosix } from 'node:path';
import { isHoldfastError } from '../errors.js';
import type { FileHandle, FileSystem } from '../fs/file-system.js';
import { statOrUndefined } from '../fs/file-utils.js';

/** Directories known to refuse O_DIRECT, with the reason, per FileSystem. */
export class DirectRefusals {
  private readonly refusedDirs = new WeakMap<FileSystem, Map<string, string>>();

  /** The reason O_DIRECT was refused in `dir`, or undefined if it was not (yet) refused. */
  reason(fs: FileSystem, dir: string): string | undefined {
    return this.refusedDirs.get(fs)?.get(dir);
  }

  record(fs: FileSystem, dir: string, reason: string): void {
    let m = this.refusedDirs.get(fs);
    if (m === undefined) this.refusedDirs.set(fs, (m = new Map()));
    m.set(dir, reason);
  }
}

/** True for the errors that mean "this file system does not do O_DIRECT", as opposed to real I/O failures. */
export function isDirectRefusal(e: unknown): boolean {
  return isHoldfastError(e, 'HF_IO') && (e.data.errno === 'EINVAL' || e.data.errno === 'EOPNOTSUPP' || e.data.errno === 'ENOTSUP');
}

interface OpenedForWrite {
  fh: FileHandle;
  direct: boolean;
  /** Set when direct was wanted but the directory refused it. */
  fallbackReason?: string;
}

export async function openForWrite(
  fs: FileSystem,
  path: string,
  wantDirect: boolean,
  mayFallBack: boolean,
  refusals: DirectRefusals,
): Promise<OpenedForWrite> {
  const dir = pathPosix.dirname(path);
  const refused = wantDirect ? refusals.reason(fs, dir) : undefined;
  if (!wantDirect) return { fh: await fs.open(path, 'create'), direct: false };
  if (refused !== undefined && mayFallBack) return { fh: await fs.open(path, 'create'), direct: false, fallbackReason: refused };
  try {
    return { fh: await fs.open(path, 'create', { direct: true }), direct: true };
  } catch (e) {
    if (!mayFallBack || !isDirectRefusal(e)) throw e;
    const reason = `O_DIRECT refused in ${dir} (${String((e as { data: { errno: unknown } }).data.errno)})`;
    refusals.record(fs, dir, reason);
    if ((await statOrUndefined(fs, path)) !== undefined) await fs.unlink(path);
    return { fh: await fs.open(path, 'create'), direct: false, fallbackReason: reason };
  }
}
