/**
 * The bulk read of one data object (restore, `verify: 'full'`): ranged GETs
 * of one chunk each, up to `depth` at a time, each body drained into its
 * place. Given the manifest's chunk digests, every chunk is hashed as it
 * arrives and compared before anything else is done with it; the first that
 * differs stops the read (no later GET is sent) and ends the returned
 * `chunks`, so a damaged object costs at most `depth` chunks of transfer and
 * the caller names the chunk. Where the recorded hash is the plain SHA-256
 * of a file of several chunks (`wholeFile`, 2.0), it runs on a hashing
 * worker, fed in file order, while the chunk hashes run here: the two passes
 * use both cores. A 2.1 hash is derived from the chunk digests: one pass. Contract otherwise as `readFileHashed`: the size (HEAD) is
 * checked before a byte is read, a body cut short is reported with the size
 * actually read and an empty hash.
 *
 * A 1.0 manifest has no chunk digests: the same ranged GETs (on the default
 * chunk grid), checked by the whole-file hash alone.
 */
import { HoldfastError } from '../errors.js';
import { DEFAULT_CHUNK_BYTES } from '../format/manifest-types.js';
import { parseHash, sha256Hex } from '../format/sha256.js';
import { chunkListHash } from '../format/chunk-list-hash.js';
import { DEFAULT_DEPTH } from '../io/io-options.js';
import { openedRecords, type HashedRead, type ReadHashedOptions } from '../io/read-file-hashed.js';
import { plainOffsetAt, RecordCipherStream } from '../io/record-cipher-stream.js';
import type { ObjectClient } from './object-client.js';

export async function readObjectChunked(client: ObjectClient, key: string, url: string, expectedSizeBytes: number, options: ReadHashedOptions): Promise<HashedRead> {
  const info = await client.head(key);
  if (info === undefined) throw new HoldfastError('HF_NOT_FOUND', `${url}: no such object`, { path: url });
  if (info.sizeBytes !== expectedSizeBytes) return { sizeBytes: info.sizeBytes, sha256Hex: '' };
  const size = expectedSizeBytes;
  const expected = options.chunks;
  const chunkBytes = expected?.bytes ?? DEFAULT_CHUNK_BYTES;
  const depth = Math.max(1, options.depth ?? DEFAULT_DEPTH);
  const kept = options.keep ? new Uint8Array(size) : undefined;
  const whole = expected !== undefined && options.wholeFile === false ? undefined : options.runtime.hashers.open(size);
  const digests: string[] = [];
  // The network is the limit here, not the cipher: records are opened on this thread, in order.
  const opener = options.decrypt === undefined ? undefined : new RecordCipherStream(options.decrypt);
  let firstBad: number | undefined;
  let short: number | undefined;
  let failure: unknown;
  let doneBytes = 0;
  const stopped = (): boolean => firstBad !== undefined || short !== undefined || failure !== undefined;
  /** Settles once the chunks before the next one have gone to the whole-file hash. */
  let inOrder: Promise<void> = Promise.resolve();

  /** Chunk `i`: GET, check its digest, then (in file order) feed the whole-file hash. */
  const readChunk = (i: number): Promise<void> => {
    const begin = i * chunkBytes;
    const length = Math.min(chunkBytes, size - begin);
    const into = kept?.subarray(begin, begin + length) ?? new Uint8Array(length);
    const checked = client.getRange(key, begin, length, into).then((bytes) => {
      if (bytes === undefined) throw new HoldfastError('HF_NOT_FOUND', `${url}: no such object (removed while being read)`, { path: url });
      if (bytes.byteLength < length) {
        short = Math.min(short ?? Infinity, begin + bytes.byteLength);
        return undefined;
      }
      if (expected !== undefined) {
        digests[i] = sha256Hex(bytes);
        if (digests[i] !== expected.sha256[i]) {
          firstBad = Math.min(firstBad ?? Infinity, i);
          return undefined;
        }
      }
      // A restore into the caller's arrays copies each piece out as it arrives (checked, when the manifest has chunks).
      if (opener === undefined) options.deliver?.(begin, bytes);
      return bytes;
    });
    const hashed = Promise.all([checked, inOrder]).then(async ([bytes]) => {
      if (bytes === undefined || stopped()) return;
      await whole?.update(bytes);
      // Records are opened in file order, here: the plaintext lands below this chunk's stored end.
      if (opener !== undefined) {
        const n = opener.transform(bytes);
        const at = plainOffsetAt(options.decrypt!.plainSize, options.decrypt!.chunkBytes, begin);
        if (kept !== undefined) kept.set(bytes.subarray(0, n), at);
        options.deliver?.(at, bytes.subarray(0, n));
      }
      doneBytes += length;
      options.onProgress?.(doneBytes, size);
    });
    inOrder = hashed.catch(() => undefined);
    return hashed.catch((e: unknown) => {
      failure ??= e;
    });
  };

  const inflight: Promise<void>[] = [];
  try {
    for (let i = 0; i * chunkBytes < size && !stopped(); i++) {
      while (inflight.length >= depth) await inflight.shift();
      if (!stopped()) inflight.push(readChunk(i));
    }
    await Promise.all(inflight);
    if (failure !== undefined) throw failure;
    if (short !== undefined || firstBad !== undefined) {
      whole?.abort();
      if (short !== undefined) return { sizeBytes: short, sha256Hex: '' };
      return { sizeBytes: size, sha256Hex: '', chunks: { bytes: chunkBytes, sha256: digests.slice(0, firstBad! + 1) } };
    }
    const sha256Hex = whole !== undefined ? (await whole.digest()).sha256Hex : parseHash(chunkListHash(digests), url).hex;
    const read: HashedRead = { sizeBytes: size, sha256Hex, ioMethod: 'buffered' };
    if (expected !== undefined) read.chunks = { bytes: chunkBytes, sha256: digests };
    if (kept !== undefined) read.bytes = opener === undefined ? kept : kept.subarray(0, options.decrypt!.plainSize);
    if (opener !== undefined) Object.assign(read, openedRecords(url, opener.finish()));
    if (whole?.fallbackReason !== undefined) read.hashFallbackReason = whole.fallbackReason;
    return read;
  } catch (e) {
    await Promise.allSettled(inflight);
    whole?.abort();
    throw e;
  }
}
