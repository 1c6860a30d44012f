/**
 * A FileSystem that refuses O_DIRECT opens with EINVAL, as tmpfs did before
 * Linux 6.6, and forwards everything else. The benchmark opens a store on it
 * to measure the buffered I/O method through the public API: the writer's
 * automatic fallback takes over, exactly as it would on such a file system.
 */
import { HoldfastError } from '../errors.js';
import type { FileHandle, FileSystem, FileStat, OpenMode, OpenOptions } from '../fs/file-system.js';

export class BufferedOnlyFileSystem implements FileSystem {
  readonly name: string;
  readonly directIoAlignBytes: number;
  constructor(private readonly inner: FileSystem) {
    this.name = `buffered-only(${inner.name})`;
    this.directIoAlignBytes = inner.directIoAlignBytes;
  }
  async open(p: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    if (options?.direct) throw new HoldfastError('HF_IO', `open ${p}: O_DIRECT refused (benchmark)`, { path: p, data: { errno: 'EINVAL', syscall: 'open' } });
    return this.inner.open(p, mode, options);
  }
  mkdir(p: string): Promise<void> {
    return this.inner.mkdir(p);
  }
  readdir(p: string): Promise<string[]> {
    return this.inner.readdir(p);
  }
  stat(p: string): Promise<FileStat> {
    return this.inner.stat(p);
  }
  rename(a: string, b: string): Promise<void> {
    return this.inner.rename(a, b);
  }
  unlink(p: string): Promise<void> {
    return this.inner.unlink(p);
  }
  rmdir(p: string): Promise<void> {
    return this.inner.rmdir(p);
  }
  syncDir(p: string): Promise<void> {
    return this.inner.syncDir(p);
  }
}
