/**
 * Copies a caller's file into a checkpoint (format-agnostic `commitFiles`),
 * hashing the bytes as they are copied so the hash describes exactly what
 * was written.
 */
import { createHash } from 'node:crypto';
import type { FileSystem } from '../fs/file-system.js';
import type { WrittenFile } from './write-file-parts.js';

const COPY_CHUNK_BYTES = 8 * 1024 * 1024;

export async function copyFileHashed(
  fs: FileSystem,
  fromPath: string,
  toPath: string,
  options: { sync: boolean },
): Promise<WrittenFile> {
  const src = await fs.open(fromPath, 'read');
  try {
    const { sizeBytes } = await src.stat();
    const dst = await fs.open(toPath, 'create');
    try {
      const hash = createHash('sha256');
      const chunk = new Uint8Array(Math.min(COPY_CHUNK_BYTES, Math.max(sizeBytes, 1)));
      let position = 0;
      for (;;) {
        const n = await src.pread(chunk, position);
        if (n === 0) break;
        const part = chunk.subarray(0, n);
        hash.update(part);
        await dst.pwrite(part, position);
        position += n;
      }
      if (options.sync) await dst.sync();
      return { sizeBytes: position, sha256Hex: hash.digest('hex'), ioMethod: 'buffered' };
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
}
