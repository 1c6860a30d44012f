/**
 * A new local file written as a stream of pieces, hashed as it is written so
 * the chunk digests and the hash derived from them (2.1) describe exactly the bytes on disk. Used for copies of a
 * caller's files (`commitFiles`); shards take the aligned fast path instead.
 */
import { DEFAULT_CHUNK_BYTES } from '../format/manifest-types.js';
import type { FileSystem } from '../fs/file-system.js';
import { ChunkedSha256 } from '../io/file-digest.js';
import type { WrittenFile } from '../io/write-file-parts.js';
import type { BlobSink } from './checkpoint-storage.js';

export async function createLocalFile(fs: FileSystem, p: string, sync: boolean): Promise<BlobSink> {
  const fh = await fs.open(p, 'create');
  const hash = new ChunkedSha256(DEFAULT_CHUNK_BYTES, false);
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
      const { sha256Hex, hash: fileHash, chunks } = hash.digest();
      const written: WrittenFile = { sizeBytes: position, sha256Hex, hash: fileHash, chunks: chunks!, ioMethod: 'buffered' };
      return written;
    },
    abort: async () => {
      await closeQuietly();
      await fs.unlink(p).catch(() => undefined);
    },
  };
}
