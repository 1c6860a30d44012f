/**
 * Sealing a whole file's records before it is written, on the cipher workers
 * several at a time: for writers that need every stored byte before they
 * start (an object upload sends each part's checksum with it). Local writers
 * seal in the hashing pass instead (`write-file-parts.ts`), record by record as
 * the file is written. Same records either way (`record-cipher-stream.ts`).
 */
import { HoldfastError } from '../errors.js';
import { recordCount, recordPlace } from '../format/chunk-cipher.js';
import type { CipherPool } from './cipher-pool.js';
import { mapConcurrent } from './map-concurrent.js';
import type { RecordCipherSpec } from './record-cipher-stream.js';

/** Records sealed at once: enough to keep every cipher worker busy. */
const RECORDS_IN_FLIGHT = 8;

/** The stored records of the file whose plaintext is the concatenation of `parts`. */
export async function sealRecords(ciphers: CipherPool, seal: RecordCipherSpec, parts: readonly Uint8Array[]): Promise<Uint8Array[]> {
  const plainBytes = parts.reduce((n, p) => n + p.byteLength, 0);
  if (seal.op !== 'seal' || seal.plainSize !== plainBytes) {
    throw new HoldfastError('HF_INVALID_ARG', `${seal.path}: a seal of ${seal.plainSize} plaintext bytes (${seal.op}) was given ${plainBytes} bytes of parts`);
  }
  const records = recordCount(seal.plainSize, seal.chunkBytes);
  const indices = Array.from({ length: records }, (_, i) => i);
  return await mapConcurrent(indices, RECORDS_IN_FLIGHT, (i) => {
    const plain = gather(parts, i * seal.chunkBytes, Math.min((i + 1) * seal.chunkBytes, seal.plainSize));
    return ciphers.seal(seal.key, recordPlace(seal.path, seal.noncePrefix, i, records), plain);
  });
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
