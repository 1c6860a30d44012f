/**
 * A FileSystem that refuses O_DIRECT opens with EINVAL, as tmpfs did before
 * Linux 6.6, and forwards everything else. The benchmark opens a store on it
 * to measure the buffered I/O method through the public API: the writer's
 * automatic fallback takes over, exactly as it would on such a file system.
 */
import { HoldfastError } from '../errors.js';
import type { FileHandle, OpenMode, OpenOptions, FileSystem } from '../fs/file-system.js';
import { FileSystemWrapper } from '../fs/file-system-wrapper.js';

export class BufferedOnlyFileSystem extends FileSystemWrapper {
  constructor(inner: FileSystem) {
    super(inner, 'buffered-only');
  }

  override async open(p: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    if (options?.direct) throw new HoldfastError('HF_IO', `open ${p}: O_DIRECT refused (benchmark)`, { path: p, data: { errno: 'EINVAL', syscall: 'open' } });
    return this.inner.open(p, mode, options);
  }
}
