/**
 * The real file system: a thin wrapper over `node:fs/promises` that maps each
 * call to one syscall and each errno to a `HoldfastError` naming the path.
 * This and `src/fs/` are the only places allowed to import `node:fs`.
 */
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle as NodeFileHandle } from 'node:fs/promises';
import { HoldfastError } from '../errors.js';
import type { EntryType, FileHandle, FileStat, FileSystem, OpenMode, OpenOptions } from './file-system.js';

/** Logical block size of the devices we target; O_DIRECT needs this alignment. */
const DIRECT_IO_ALIGN_BYTES = 4096;

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

function entryType(s: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryType {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'directory';
  if (s.isSymbolicLink()) return 'symlink';
  return 'other';
}

function openFlags(mode: OpenMode, direct: boolean): number {
  const base =
    mode === 'read'
      ? constants.O_RDONLY | constants.O_NOFOLLOW
      : mode === 'create'
        ? constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL
        : constants.O_WRONLY | constants.O_NOFOLLOW;
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

  async open(path: string, mode: OpenMode, options: OpenOptions = {}): Promise<FileHandle> {
    const fh = await wrap('open', path, () => fsp.open(path, openFlags(mode, options.direct === true), 0o600));
    return new PosixFileHandle(path, fh);
  }

  mkdir(path: string): Promise<void> {
    return wrap('mkdir', path, () => fsp.mkdir(path, { mode: 0o700 }));
  }

  async readdir(path: string): Promise<string[]> {
    const names = await wrap('readdir', path, () => fsp.readdir(path));
    return names.sort();
  }

  async stat(path: string): Promise<FileStat> {
    const s = await wrap('lstat', path, () => fsp.lstat(path));
    return { type: entryType(s), sizeBytes: s.size, mtimeMs: s.mtimeMs };
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
