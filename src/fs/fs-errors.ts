/**
 * Errors of the simulated file systems (memory, faulty), built by the same
 * `ioError` as `PosixFileSystem` so that callers cannot tell them apart:
 * `HoldfastError` with code `HF_NOT_FOUND` for ENOENT and `HF_IO` otherwise,
 * `path` set, `data: { errno, syscall }`, message `${syscall} ${path}: …`.
 */
import { isHoldfastError, type HoldfastError } from '../errors.js';
import { ioError } from './posix-file-system.js';

/** The errno codes the simulated file systems produce. */
type Errno =
  | 'EEXIST'
  | 'ENOENT'
  | 'ENOTEMPTY'
  | 'EISDIR'
  | 'ENOTDIR'
  | 'EBADF'
  | 'EINVAL'
  | 'ELOOP'
  | 'ENXIO'
  | 'EBUSY'
  | 'EIO'
  | 'ENOSPC'
  | 'EDQUOT'
  | 'EROFS';

// Node's wording (libuv's uv_strerror), so messages read like the real ones.
const DESCRIPTIONS: Record<Errno, string> = {
  EEXIST: 'file already exists',
  ENOENT: 'no such file or directory',
  ENOTEMPTY: 'directory not empty',
  EISDIR: 'illegal operation on a directory',
  ENOTDIR: 'not a directory',
  EBADF: 'bad file descriptor',
  EINVAL: 'invalid argument',
  ELOOP: 'too many symbolic links encountered',
  ENXIO: 'no such device or address',
  EBUSY: 'resource busy or locked',
  EIO: 'i/o error',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
};

/** The error `syscall` on `path` would raise with `errno`; `extraData` is merged into `data`. */
export function errnoError(syscall: string, path: string, errno: Errno, extraData?: Record<string, unknown>): HoldfastError {
  const cause = Object.assign(new Error(`${errno}: ${DESCRIPTIONS[errno]}, ${syscall} '${path}'`), { code: errno });
  const err = ioError(syscall, path, cause);
  if (extraData !== undefined) Object.assign(err.data, extraData);
  return err;
}

/** The errno code carried by a file-system error, if any. */
export function errnoOf(e: unknown): string | undefined {
  if (!isHoldfastError(e)) return undefined;
  const errno = e.data['errno'];
  return typeof errno === 'string' ? errno : undefined;
}
