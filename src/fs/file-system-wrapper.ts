/**
 * A `FileSystem` that forwards every call to another one (LevelDB's
 * `EnvWrapper`). Test and tool doubles extend it and override only the calls
 * they change, so a double never forks the real implementation and a new
 * interface method cannot be silently missed by one of them.
 */
import type { FileHandle, FileStat, FileSystem, OpenMode, OpenOptions } from './file-system.js';

export class FileSystemWrapper implements FileSystem {
  readonly name: string;
  readonly directIoAlignBytes: number;

  constructor(
    protected readonly inner: FileSystem,
    label: string,
  ) {
    this.name = `${label}(${inner.name})`;
    this.directIoAlignBytes = inner.directIoAlignBytes;
  }

  open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    return this.inner.open(path, mode, options);
  }

  mkdir(path: string): Promise<void> {
    return this.inner.mkdir(path);
  }

  readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path);
  }

  stat(path: string): Promise<FileStat> {
    return this.inner.stat(path);
  }

  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }

  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }

  rmdir(path: string): Promise<void> {
    return this.inner.rmdir(path);
  }

  syncDir(path: string): Promise<void> {
    return this.inner.syncDir(path);
  }
}
