/**
 * The write side of encryption at rest (format/chunk-cipher.ts): a file's
 * plaintext, given as byte parts (a shard) or read from a caller's file
 * (`commitFiles`), becomes its stored records, sealed on the cipher workers
 * several at a time. The storage writer then hashes and writes the stored
 * bytes like any others, so `size`, `hash` and `chunks` in the manifest are of
 * what is on disk: verify, `latest` and rollback need no key.
 *
 * A shard's records are all sealed before its file is written (the fast
 * aligned write path takes the whole file as parts): an encrypted save holds
 * the stored bytes of the shard files in flight (two at a time, 256 MiB each
 * by default) beside the caller's tensors. A caller's file is streamed record
 * by record instead (it may be larger than memory).
 */
import { HoldfastError } from '../errors.js';
import { newNoncePrefix, recordCount, recordPlace, type EncryptionKey } from '../format/chunk-cipher.js';
import type { FileEncryption, ManifestEncryption } from '../format/manifest-types.js';
import type { FileHandle } from '../fs/file-system.js';
import type { CipherPool } from '../io/cipher-pool.js';
import { mapConcurrent } from '../io/map-concurrent.js';
import type { BlobSink } from '../storage/checkpoint-storage.js';
import type { WrittenFile } from '../io/write-file-parts.js';

/** Records sealed at once per file: enough to keep every cipher worker busy. */
const RECORDS_IN_FLIGHT = 8;

export interface FileSealer {
  key: EncryptionKey;
  ciphers: CipherPool;
  chunkBytes: number;
}

export function manifestEncryption(sealer: FileSealer): ManifestEncryption {
  return { alg: 'aes-256-gcm', keyId: sealer.key.keyId, chunkBytes: sealer.chunkBytes };
}

/** The stored records of the file whose plaintext is the concatenation of `parts`. */
export async function sealParts(sealer: FileSealer, path: string, parts: readonly Uint8Array[]): Promise<{ stored: Uint8Array[]; encrypted: FileEncryption }> {
  const plainSize = parts.reduce((n, p) => n + p.byteLength, 0);
  const records = recordCount(plainSize, sealer.chunkBytes);
  const noncePrefix = newNoncePrefix();
  const indices = Array.from({ length: records }, (_, i) => i);
  const stored = await mapConcurrent(indices, RECORDS_IN_FLIGHT, (i) => {
    const plain = gather(parts, i * sealer.chunkBytes, Math.min((i + 1) * sealer.chunkBytes, plainSize));
    return sealer.ciphers.seal(sealer.key, recordPlace(path, noncePrefix, i, records), plain);
  });
  return { stored, encrypted: { plainSize, noncePrefix } };
}

/** Bytes [begin, end) of the concatenated parts: a view when one part holds them, else a copy. */
function gather(parts: readonly Uint8Array[], begin: number, end: number): Uint8Array {
  let at = 0;
  let out: Uint8Array | undefined;
  for (const p of parts) {
    const pEnd = at + p.byteLength;
    if (pEnd > begin && at < end) {
      const from = Math.max(begin, at) - at;
      const to = Math.min(end, pEnd) - at;
      if (out === undefined && at <= begin && pEnd >= end) return p.subarray(from, to);
      out ??= new Uint8Array(end - begin);
      out.set(p.subarray(from, to), at + from - begin);
    }
    at = pEnd;
    if (at >= end) break;
  }
  return out ?? new Uint8Array(0);
}

/**
 * Streams `plainSize` bytes of `src` into `sink` as sealed records, one record read and sealed
 * while the previous one is written. A file that is not `plainSize` bytes long any more is refused.
 */
export async function sealStream(sealer: FileSealer, path: string, src: FileHandle, sourcePath: string, plainSize: number, sink: BlobSink): Promise<{ written: WrittenFile; encrypted: FileEncryption }> {
  const records = recordCount(plainSize, sealer.chunkBytes);
  const noncePrefix = newNoncePrefix();
  let writing: Promise<void> = Promise.resolve();
  for (let i = 0; i < records; i++) {
    const begin = i * sealer.chunkBytes;
    const plain = new Uint8Array(Math.min(sealer.chunkBytes, plainSize - begin));
    for (let got = 0; got < plain.byteLength; ) {
      const n = await src.pread(plain.subarray(got), begin + got);
      if (n === 0) throw changedWhileCopied(sourcePath, plainSize);
      got += n;
    }
    const record = await sealer.ciphers.seal(sealer.key, recordPlace(path, noncePrefix, i, records), plain);
    await writing;
    writing = sink.write(record);
    writing.catch(() => undefined); // awaited on the next turn; a failed seal before then must not leave it unhandled
  }
  await writing;
  if ((await src.pread(new Uint8Array(1), plainSize)) !== 0) throw changedWhileCopied(sourcePath, plainSize);
  return { written: await sink.close(), encrypted: { plainSize, noncePrefix } };
}

function changedWhileCopied(sourcePath: string, plainSize: number): HoldfastError {
  return new HoldfastError('HF_IO', `${sourcePath} changed size while being copied into the checkpoint (it was ${plainSize} bytes when the save began)`, { path: sourcePath });
}
