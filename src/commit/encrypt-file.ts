/**
 * The write side of encryption at rest (format/chunk-cipher.ts): a file's
 * plaintext, given as byte parts (a shard) or read from a caller's file
 * (`commitFiles`), becomes its stored records. The manifest's `size`, `hash`
 * and `chunks` are of the stored bytes, so verify, `latest` and rollback need
 * no key.
 *
 * A shard is handed to the storage writer as plaintext with a `seal` spec
 * (its nonce prefix chosen here, so the manifest entry is known): a local
 * writer seals each record on the file's hashing worker in the pass that
 * hashes it, as the file is written; an object writer seals the records on
 * the cipher workers before its upload. A caller's file is streamed record by
 * record through the cipher workers (it may be larger than memory).
 */
import { HoldfastError } from '../errors.js';
import { newNoncePrefix, recordCount, recordPlace, type EncryptionKey } from '../format/chunk-cipher.js';
import type { FileEncryption, ManifestEncryption } from '../format/manifest-types.js';
import type { FileHandle } from '../fs/file-system.js';
import type { CipherPool } from '../io/cipher-pool.js';
import type { RecordCipherSpec } from '../io/record-cipher-stream.js';
import type { BlobSink } from '../storage/checkpoint-storage.js';
import type { WrittenFile } from '../io/write-file-parts.js';

export interface FileSealer {
  key: EncryptionKey;
  ciphers: CipherPool;
  chunkBytes: number;
}

export function manifestEncryption(sealer: FileSealer): ManifestEncryption {
  return { alg: 'aes-256-gcm', keyId: sealer.key.keyId, chunkBytes: sealer.chunkBytes };
}

/** How a writer is to seal the file whose plaintext is the concatenation of `parts`, and what the manifest records of it. */
export function sealSpec(sealer: FileSealer, path: string, parts: readonly Uint8Array[]): { spec: RecordCipherSpec; encrypted: FileEncryption } {
  const plainSize = parts.reduce((n, p) => n + p.byteLength, 0);
  const noncePrefix = newNoncePrefix();
  return { spec: { op: 'seal', key: sealer.key.key, path, noncePrefix, plainSize, chunkBytes: sealer.chunkBytes }, encrypted: { plainSize, noncePrefix } };
}

/** A writer asked to seal that reports it did not has written plaintext: never let that commit. */
export function sealedAsAsked(written: WrittenFile, seal: { spec: RecordCipherSpec } | undefined, writer: { location: string }): WrittenFile {
  if (seal === undefined || written.sealed === true) return written;
  throw new HoldfastError('HF_INVALID_ARG', `${writer.location}: the storage writer did not seal ${seal.spec.path} though asked to (it cannot store encrypted files); nothing was committed`, { path: writer.location });
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
    const record = await sealer.ciphers.seal(sealer.key.key, recordPlace(path, noncePrefix, i, records), plain);
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
