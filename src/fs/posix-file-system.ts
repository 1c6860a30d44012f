/**
 * The real file system: a thin wrapper over `node:fs/promises` that maps each
 * call to one syscall and each errno to a `HoldfastError` naming the path.
 * This and `src/fs/` are the only places allowed to import `node:fs`.
 *
 * Opening never hangs and never hands out a special file: existing files are
 * opened with O_NONBLOCK (a FIFO would otherwise block open(2) until a peer
 * appears; on regular files and directories Linux ignores the flag), then
 * fstat'd, and anything but a regular file or directory is closed and refused
 * with HF_IO "open <path>: is a FIFO, expected a regular file". A FIFO opened
 * for writing with no reader fails with ENXIO, reported the same way.
 *
 * Modes: files 0600 and directories 0700 by default (private to the owner),
 * passed to open(2)/mkdir(2), so a umask can only narrow them. A store shared
 * with a group passes `{ fileMode: 0o640, dirMode: 0o750 }`; a configured mode
 * is set with fchmod after creation, so the umask cannot narrow it either.
 */
import { constants, promises as fsp, type Stats } from 'node:fs';
import type { FileHandle as NodeFileHandle } from 'node:fs/promises';
import { HoldfastError, invalidArg } from '../errors.js';
import { describeEntryType, type EntryType, type FileHandle, type FileStat, type FileSystem, type OpenMode, type OpenOptions } from './file-system.js';

/** Logical block size of the devices we target; O_DIRECT needs this alignment. */
const DIRECT_IO_ALIGN_BYTES = 4096;
export const DEFAULT_FILE_MODE = 0o600;
export const DEFAULT_DIR_MODE = 0o700;

export interface PosixFileSystemOptions {
  /** Permission bits of created files (default 0o600). Must include owner read+write; no write for others. */
  fileMode?: number;
  /** Permission bits of created directories (default 0o700). Must include owner rwx; no write for others. */
  dirMode?: number;
}

export function ioError(syscall: string, path: string, cause: unknown): HoldfastError {
  const errno = (cause as NodeJS.ErrnoException | undefined)?.code ?? 'EUNKNOWN';
  const code = errno === 'ENOENT' ? 'HF_NOT_FOUND' : 'HF_IO';
  const what = errno === 'ENOENT' ? 'no such file or directory' : (cause as Error)?.message ?? String(cause);
  return new HoldfastError(code, `${syscall} ${path}: ${what}`, { path, cause, data: { errno, syscall } });
}

async function wrap<T>(syscall: string, path: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    throw ioError(syscall, path, e);
  }
}

/**
 * HF_IO for a path that is not a regular file where one is needed; `found` completes
 * "is …" ("a FIFO", or `describeEntryType('other')` when the kind is not known).
 */
export function notRegularFileError(syscall: string, path: string, found: string): HoldfastError {
  return new HoldfastError('HF_IO', `${syscall} ${path}: is ${found}, expected a regular file`, { path, data: { syscall, found } });
}

/** The precise kind of a special file, for messages. */
function specialKind(s: Stats): string {
  if (s.isFIFO()) return 'a FIFO';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  return describeEntryType(entryType(s));
}

function checkMode(name: string, mode: number, ownerBits: number): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw invalidArg(`${name} must be permission bits between 0 and 0o777, got ${String(mode)}`);
  if ((mode & ownerBits) !== ownerBits) throw invalidArg(`${name} 0o${mode.toString(8)} must give the owner 0o${ownerBits.toString(8)} (Holdfast reads back what it writes)`);
  if ((mode & 0o002) !== 0) throw invalidArg(`${name} 0o${mode.toString(8)} lets anyone write; a store may be shared with a group at most`);
  return mode;
}

function entryType(s: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryType {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'directory';
  if (s.isSymbolicLink()) return 'symlink';
  return 'other';
}

function openFlags(mode: OpenMode, direct: boolean): number {
  // O_NONBLOCK only where an existing file is opened: O_CREAT|O_EXCL never opens a FIFO.
  const base =
    mode === 'read'
      ? constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK
      : mode === 'create'
        ? constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL
        : mode === 'append'
          ? constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK
          : constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
  return direct ? base | constants.O_DIRECT : base;
}

class PosixFileHandle implements FileHandle {
  constructor(
    readonly path: string,
    private readonly fh: NodeFileHandle,
  ) {}

  async pwrite(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.byteLength) {
      let bytesWritten: number;
      try {
        ({ bytesWritten } = await this.fh.write(data, done, data.byteLength - done, position + done));
      } catch (e) {
        // Say how much landed before the failure: a short write then ENOSPC leaves a prefix on disk.
        const err = ioError('pwrite', this.path, e);
        err.data['bytesWritten'] = done;
        throw err;
      }
      if (bytesWritten === 0) throw ioError('pwrite', this.path, new Error('wrote 0 bytes'));
      done += bytesWritten;
    }
  }

  async pread(into: Uint8Array, position: number, length = into.byteLength): Promise<number> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await wrap('pread', this.path, () => this.fh.read(into, done, length - done, position + done));
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  truncate(sizeBytes: number): Promise<void> {
    return wrap('ftruncate', this.path, () => this.fh.truncate(sizeBytes));
  }

  sync(): Promise<void> {
    return wrap('fsync', this.path, () => this.fh.sync());
  }

  datasync(): Promise<void> {
    return wrap('fdatasync', this.path, () => this.fh.datasync());
  }

  async stat(): Promise<FileStat> {
    const s = await wrap('fstat', this.path, () => this.fh.stat());
    return { type: entryType(s), sizeBytes: s.size, mtimeMs: s.mtimeMs };
  }

  close(): Promise<void> {
    return wrap('close', this.path, () => this.fh.close());
  }
}

export class PosixFileSystem implements FileSystem {
  readonly name = 'posix';
  readonly directIoAlignBytes = DIRECT_IO_ALIGN_BYTES;
  readonly fileMode: number;
  readonly dirMode: number;

  constructor(options: PosixFileSystemOptions = {}) {
    this.fileMode = checkMode('fileMode', options.fileMode ?? DEFAULT_FILE_MODE, 0o600);
    this.dirMode = checkMode('dirMode', options.dirMode ?? DEFAULT_DIR_MODE, 0o700);
  }

  async open(path: string, mode: OpenMode, options: OpenOptions = {}): Promise<FileHandle> {
    let fh: NodeFileHandle;
    try {
      fh = await fsp.open(path, openFlags(mode, options.direct === true), this.fileMode);
    } catch (e) {
      // O_WRONLY|O_NONBLOCK on a FIFO without a reader (or on a socket): say what is there.
      if ((e as NodeJS.ErrnoException).code === 'ENXIO') throw await this.describeUnopenable(path, e);
      throw ioError('open', path, e);
    }
    try {
      const s = await wrap('fstat', path, () => fh.stat());
      if (!s.isFile() && !s.isDirectory()) throw notRegularFileError('open', path, specialKind(s));
      if ((mode === 'create' || mode === 'append') && this.fileMode !== DEFAULT_FILE_MODE) await wrap('fchmod', path, () => fh.chmod(this.fileMode));
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
    return new PosixFileHandle(path, fh);
  }

  private async describeUnopenable(path: string, cause: unknown): Promise<HoldfastError> {
    const s = await fsp.lstat(path).catch(() => undefined);
    if (s === undefined || s.isFile() || s.isDirectory()) return ioError('open', path, cause);
    return notRegularFileError('open', path, specialKind(s));
  }

  async mkdir(path: string): Promise<void> {
    await wrap('mkdir', path, () => fsp.mkdir(path, { mode: this.dirMode }));
    if (this.dirMode !== DEFAULT_DIR_MODE) {
      // Through an fd opened without following links, so the mode lands on the directory just made.
      const dh = await wrap('open', path, () => fsp.open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW));
      try {
        await wrap('fchmod', path, () => dh.chmod(this.dirMode));
      } finally {
        await dh.close();
      }
    }
  }

  async readdir(path: string): Promise<string[]> {
    const names = await wrap('readdir', path, () => fsp.readdir(path));
    return names.sort();
  }

  async stat(path: string): Promise<FileStat> {
    const s = await wrap('lstat', path, () => fsp.lstat(path));
    return { type: entryType(s), sizeBytes: s.size, mtimeMs: s.mtimeMs, mode: s.mode & 0o7777 };
  }

  rename(from: string, to: string): Promise<void> {
    return wrap('rename', `${from} -> ${to}`, () => fsp.rename(from, to));
  }

  unlink(path: string): Promise<void> {
    return wrap('unlink', path, () => fsp.unlink(path));
  }

  rmdir(path: string): Promise<void> {
    return wrap('rmdir', path, () => fsp.rmdir(path));
  }

  async syncDir(path: string): Promise<void> {
    // F8 (docs/CRASH-MODEL.md): open O_RDONLY|O_DIRECTORY and fsync; on Linux an error here is a real
    // failure (PostgreSQL ignores EINVAL only on other systems).
    const fh = await wrap('open', path, () => fsp.open(path, constants.O_RDONLY | constants.O_DIRECTORY));
    try {
      await wrap('fsync', path, () => fh.sync());
    } finally {
      await fh.close();
    }
  }
}
