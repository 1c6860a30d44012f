/** SHA-256 of each fixed-size chunk of a file given as byte parts (manifest 2.0 `chunks`), across part boundaries. */
import { createHash, type Hash } from 'node:crypto';
import type { ChunkDigests } from '../format/manifest-types.js';

export function chunkDigests(parts: readonly Uint8Array[], chunkBytes: number): ChunkDigests {
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
