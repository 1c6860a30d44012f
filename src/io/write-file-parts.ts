/**
 * Writes a new file from a sequence of byte parts (a shard's header then its
 * tensors), hashing the bytes as they go out so no second read pass is
 * needed. The simple buffered path; `io/` may route large saves through the
 * aligned O_DIRECT writer instead, with the same result shape.
 */
import { createHash } from 'node:crypto';
import type { FileSystem } from '../fs/file-system.js';

export type IoMethod = 'direct' | 'buffered';

export interface WrittenFile {
  sizeBytes: number;
  sha256Hex: string;
  ioMethod: IoMethod;
}

export interface WriteFilePartsOptions {
  /** fsync before close: required by the atomic modes, skipped by `unsafe`. */
  sync: boolean;
}

/** Small parts are gathered into one write; the kernel copes badly with many tiny pwrites. */
const COALESCE_BYTES = 8 * 1024 * 1024;

export async function writeFileParts(
  fs: FileSystem,
  path: string,
  parts: readonly Uint8Array[],
  options: WriteFilePartsOptions,
): Promise<WrittenFile> {
  const hash = createHash('sha256');
  const fh = await fs.open(path, 'create');
  let position = 0;
  const pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const chunk = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    await fh.pwrite(chunk, position);
    position += pendingBytes;
    pending.length = 0;
    pendingBytes = 0;
  };
  try {
    for (const part of parts) {
      hash.update(part);
      if (part.byteLength >= COALESCE_BYTES) {
        await flush();
        await fh.pwrite(part, position);
        position += part.byteLength;
        continue;
      }
      pending.push(part);
      pendingBytes += part.byteLength;
      if (pendingBytes >= COALESCE_BYTES) await flush();
    }
    await flush();
    if (options.sync) await fh.sync();
  } finally {
    await fh.close();
  }
  return { sizeBytes: position, sha256Hex: hash.digest('hex'), ioMethod: 'buffered' };
}
