/**
 * The 2.0 manifest's per-chunk digests of a file given as a sequence of byte parts (the parts need
 * not align with chunks). `chunkHashes` yields them one at a time, so a comparison can stop at the
 * first chunk that differs without hashing the rest.
 */
import { createHash, type Hash } from 'node:crypto';
import { DEFAULT_CHUNK_BYTES, type ChunkDigests } from './manifest-types.js';

export function chunkDigestsOf(parts: readonly Uint8Array[], chunkBytes = DEFAULT_CHUNK_BYTES): ChunkDigests {
  return { bytes: chunkBytes, sha256: [...chunkHashes(parts, chunkBytes)] };
}

/** SHA-256 hex of each chunk [i·chunkBytes, (i+1)·chunkBytes) of the concatenated parts, in order. */
export function* chunkHashes(parts: readonly Uint8Array[], chunkBytes: number): Generator<string> {
  let hash: Hash | undefined;
  let filled = 0;
  for (const part of parts) {
    for (let at = 0; at < part.byteLength; ) {
      hash ??= createHash('sha256');
      const take = Math.min(chunkBytes - filled, part.byteLength - at);
      hash.update(part.subarray(at, at + take));
      filled += take;
      at += take;
      if (filled === chunkBytes) {
        yield hash.digest('hex');
        hash = undefined;
        filled = 0;
      }
    }
  }
  if (hash !== undefined) yield hash.digest('hex');
}
