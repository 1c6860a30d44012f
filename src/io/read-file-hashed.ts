/**
 * Reads a whole file while hashing it, so verification and loading are one
 * pass over the bytes. The size is checked against the expected size before
 * any byte is read: a truncated or extended file fails fast, and a huge
 * planted file is never buffered.
 */
import { createHash } from 'node:crypto';
import type { FileSystem } from '../fs/file-system.js';

export interface HashedRead {
  /** Size found on disk; differs from the expected size when the file was cut or extended. */
  sizeBytes: number;
  /** Empty when the size already disagreed (nothing was read). */
  sha256Hex: string;
  /** The bytes, when `keep` was set and the size matched. */
  bytes?: Uint8Array;
}

const READ_CHUNK_BYTES = 8 * 1024 * 1024;

export async function readFileHashed(
  fs: FileSystem,
  path: string,
  expectedSizeBytes: number,
  options: { keep: boolean },
): Promise<HashedRead> {
  const fh = await fs.open(path, 'read');
  try {
    const { sizeBytes } = await fh.stat();
    if (sizeBytes !== expectedSizeBytes) return { sizeBytes, sha256Hex: '' };
    const hash = createHash('sha256');
    const bytes = options.keep ? new Uint8Array(sizeBytes) : undefined;
    const scratch = bytes ? undefined : new Uint8Array(Math.min(READ_CHUNK_BYTES, Math.max(sizeBytes, 1)));
    let position = 0;
    while (position < sizeBytes) {
      const length = Math.min(READ_CHUNK_BYTES, sizeBytes - position);
      const target = bytes ? bytes.subarray(position, position + length) : scratch!.subarray(0, length);
      const n = await fh.pread(target, position, length);
      // The file shrank between fstat and read: report the size actually readable.
      if (n < length) return { sizeBytes: position + n, sha256Hex: '' };
      hash.update(target);
      position += length;
    }
    const sha256Hex = hash.digest('hex');
    return bytes ? { sizeBytes, sha256Hex, bytes } : { sizeBytes, sha256Hex };
  } finally {
    await fh.close();
  }
}
