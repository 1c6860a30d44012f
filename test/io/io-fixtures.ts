/** Shared fixtures of the io tests: deterministic bytes, file-system wrappers that refuse O_DIRECT or fail, file reads. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { HoldfastError } from '../../src/errors.js';
import type { FileHandle, FileSystem, OpenMode, OpenOptions } from '../../src/fs/file-system.js';
import { FileSystemWrapper } from '../../src/fs/file-system-wrapper.js';

/** `n` pseudo-random bytes from `seed` (xorshift), so a ragged part never looks like zero padding. */
export function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function sha256(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

export function fileBytes(path: string): Buffer {
  return readFileSync(path);
}

function einval(path: string, syscall: string): HoldfastError {
  return new HoldfastError('HF_IO', `${syscall} ${path}: invalid argument`, { path, data: { errno: 'EINVAL', syscall } });
}

/**
 * Forwards to `inner` but behaves like tmpfs before Linux 6.6: an open with
 * `{ direct: true }` creates the file (as Linux does, the check running after
 * O_CREAT) and then fails with EINVAL. Counts the direct opens it refused.
 */
export class NoDirectFileSystem extends FileSystemWrapper {
  refusedOpens = 0;
  constructor(inner: FileSystem) {
    super(inner, 'no-direct');
  }
  override async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    if (options?.direct) {
      this.refusedOpens++;
      if (mode === 'create') await (await this.inner.open(path, 'create')).close();
      throw einval(path, 'open');
    }
    return this.inner.open(path, mode, options);
  }
}

/** Wraps handles so that a chosen call fails: `failWrite(handlePath, n)` makes the n-th pwrite (0-based, across the file) throw `errno`. */
export class FaultyFileSystem extends FileSystemWrapper {
  pwrites = 0;
  openHandles = 0;
  constructor(
    inner: FileSystem,
    private readonly fault: { onDirectOnly?: boolean; failPwriteNumber: number; errno: string },
  ) {
    super(inner, 'faulty');
  }
  override async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    const fh = await this.inner.open(path, mode, options);
    this.openHandles++;
    const direct = options?.direct === true;
    const self = this;
    return {
      path: fh.path,
      async pwrite(data: Uint8Array, position: number): Promise<void> {
        if (!self.fault.onDirectOnly || direct) {
          if (self.pwrites++ === self.fault.failPwriteNumber) {
            throw new HoldfastError('HF_IO', `pwrite ${path}: injected ${self.fault.errno}`, { path, data: { errno: self.fault.errno, syscall: 'pwrite' } });
          }
        }
        return fh.pwrite(data, position);
      },
      pread: (into, position, length) => fh.pread(into, position, length),
      truncate: (n) => fh.truncate(n),
      sync: () => fh.sync(),
      datasync: () => fh.datasync(),
      stat: () => fh.stat(),
      async close(): Promise<void> {
        self.openHandles--;
        return fh.close();
      },
    };
  }
}
