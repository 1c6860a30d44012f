/**
 * A new local file written as a stream of chunks, hashed as it is written so
 * the hash describes exactly the bytes on disk. Used for copies of a
 * caller's files (`commitFiles`); shards take the aligned fast path instead.
 */
import { createHash } from 'node:crypto';
import type { FileSystem } from '../fs/file-system.js';
import type { WrittenFile } from '../io/write-file-parts.js';
import type { BlobSink } from './checkpoint-storage.js';

export async function createLocalFile(fs: FileSystem, p: string, sync: boolean): Promise<BlobSink> {
  const fh = await fs.open(p, 'create');
  const hash = createHash('sha256');
  let position = 0;
  let open = true;
  const closeQuietly = async (): Promise<void> => {
    if (!open) return;
    open = false;
    await fh.close().catch(() => undefined);
  };
  return {
    write: async (chunk) => {
      hash.update(chunk);
      await fh.pwrite(chunk, position);
      position += chunk.byteLength;
    },
    close: async () => {
      try {
        if (sync) await fh.sync();
      } finally {
        open = false;
        await fh.close();
      }
      const written: WrittenFile = { sizeBytes: position, sha256Hex: hash.digest('hex'), ioMethod: 'buffered' };
      return written;
    },
    abort: async () => {
      await closeQuietly();
      await fs.unlink(p).catch(() => undefined);
    },
  };
}
