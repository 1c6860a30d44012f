/** Shared fixtures of the io tests: deterministic bytes, a file-system wrapper that refuses O_DIRECT, file reads (faults come from src/fs/faulty-file-system.ts). */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FileHandle, FileSystem, OpenMode, OpenOptions } from '../../src/fs/file-system.js';
import { FileSystemWrapper } from '../../src/fs/file-system-wrapper.js';
import { errnoError } from '../../src/fs/fs-errors.js';

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
      throw errnoError('open', path, 'EINVAL');
    }
    return this.inner.open(path, mode, options);
  }
}

/** The chunk digests of `data` on a grid of `chunkBytes`, one `createHash` per slice (the reference). */
export function chunkDigests(data: Uint8Array, chunkBytes: number): { bytes: number; sha256: string[] } {
  const out: string[] = [];
  for (let at = 0; at < data.byteLength; at += chunkBytes) out.push(sha256(data.subarray(at, at + chunkBytes)));
  return { bytes: chunkBytes, sha256: out };
}

/**
 * The hex of a 2.1 file hash, computed independently of `chunk-list-hash.ts`: the plain SHA-256 for at
 * most one chunk, else SHA-256 of the raw chunk digests concatenated.
 */
export function chunkListHex(data: Uint8Array, chunkBytes: number): string {
  const { sha256: digests } = chunkDigests(data, chunkBytes);
  if (digests.length <= 1) return sha256(data);
  return sha256(Buffer.concat(digests.map((d) => Buffer.from(d, 'hex'))));
}
