/**
 * The whole-file hash a 2.1 manifest records, derived from the file's chunk
 * digests so that a writer or reader hashes each byte once (DESIGN §7,
 * docs/PERFORMANCE.md "One hash per byte"). A file of at most one chunk keeps
 * the plain `sha256:` of its bytes (which is its only chunk digest, or the
 * hash of nothing); a longer one records `sha256-chunks:<hex>`, the SHA-256
 * of its chunk digests as raw 32-byte values, concatenated in file order
 * (the construction of S3's multipart "checksum of checksums"). It binds the
 * bytes as strongly as the plain hash: two files with the same value have
 * the same chunk digests, so equal chunks, or a SHA-256 collision. Checked
 * with coreutils for 8 MiB chunks:
 * `split -b 8388608 --filter=sha256sum FILE | cut -c1-64 | xxd -r -p | sha256sum`.
 */
import { createHash } from 'node:crypto';
import { formatHash, parseHash } from './sha256.js';
import type { ChunkDigests } from './manifest-types.js';

export const CHUNK_LIST_ALGORITHM = 'sha256-chunks';

/** SHA-256 of nothing: the hash of an empty file, which has no chunk. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The recorded hash of a file whose chunk digests are `digests` (in file order). */
export function chunkListHash(digests: readonly string[]): string {
  if (digests.length <= 1) return formatHash(digests[0] ?? EMPTY_SHA256);
  const h = createHash('sha256');
  for (const d of digests) h.update(Buffer.from(d, 'hex'));
  return `${CHUNK_LIST_ALGORITHM}:${h.digest('hex')}`;
}

/**
 * Whether checking the recorded `hash` of a file needs the plain SHA-256 of all its bytes (1.0,
 * and 2.0 files of more than one chunk), as opposed to the chunk digests alone.
 */
export function needsWholeFileHash(file: { hash: string; chunks?: ChunkDigests | undefined }, where = 'hash'): boolean {
  if (file.chunks === undefined) return true;
  return parseHash(file.hash, where).algorithm === 'sha256' && file.chunks.sha256.length > 1;
}
