/** The 2.0 manifest's per-chunk digests of a file given as a sequence of byte parts (the parts need not align with chunks). */
import { createHash, type Hash } from 'node:crypto';
import { DEFAULT_CHUNK_BYTES, type ChunkDigests } from './manifest-types.js';

export function chunkDigestsOf(parts: readonly Uint8Array[], chunkBytes = DEFAULT_CHUNK_BYTES): ChunkDigests {
  const sha256: string[] = [];
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
        sha256.push(hash.digest('hex'));
        hash = undefined;
        filled = 0;
      }
    }
  }
  if (hash !== undefined) sha256.push(hash.digest('hex'));
  return { bytes: chunkBytes, sha256 };
}
