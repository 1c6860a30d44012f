/**
 * The digests of a file (DESIGN §7): the SHA-256 of each fixed-size chunk
 * [i·C, min((i+1)·C, size)) (`chunks`, what a ranged read verifies) and the
 * file's recorded `hash`, over bytes that arrive in pieces of any size: chunk
 * boundaries are file offsets, never the edges of the pieces. An empty file
 * has no chunks; a file of exactly k·C bytes has k.
 *
 * What a 2.1 writer records hashes each byte once: the chunk digests, and the
 * file hash derived from them (`chunkListHash`). Reading a 1.0 file, or a 2.0
 * file of several chunks, needs the plain SHA-256 of the whole file as well
 * (`wholeFile`): the two hashes are then fed slice by slice (256 KiB, within
 * the L2 cache of the dev VM's EPYC), so each slice is read from memory once
 * for both. Measured: docs/PERFORMANCE.md ("One hash per byte").
 */
import { createHash, type Hash } from 'node:crypto';
import { HoldfastError } from '../errors.js';
import type { ChunkDigests } from '../format/manifest-types.js';
import { chunkListHash } from '../format/chunk-list-hash.js';
import { formatHash } from '../format/sha256.js';

export interface FileDigest {
  /**
   * The hex of `hash`: SHA-256 of every byte when the whole-file hash was computed (or the file has at
   * most one chunk), else SHA-256 of the chunk digests.
   */
  sha256Hex: string;
  /** The file's recorded hash, `sha256:<hex>` or `sha256-chunks:<hex>` (see `chunk-list-hash.ts`). */
  hash: string;
  /** Present when chunk digests were asked for. */
  chunks?: ChunkDigests;
}

const SLICE_BYTES = 256 * 1024;

function plain(sha256Hex: string): FileDigest {
  return { sha256Hex, hash: formatHash(sha256Hex) };
}

export class ChunkedSha256 {
  private readonly whole: Hash | undefined;
  private chunk: Hash | undefined;
  /** Bytes of the current chunk hashed so far. */
  private inChunk = 0;
  private readonly digests: string[] = [];

  /**
   * `chunkBytes` undefined: the whole-file hash only (1.0 checkpoints). `wholeFile` false (with a
   * chunk size): the chunk digests only, each byte hashed once, and the file hash derived from them.
   */
  constructor(
    readonly chunkBytes?: number,
    wholeFile = true,
  ) {
    if (chunkBytes !== undefined && !(Number.isSafeInteger(chunkBytes) && chunkBytes > 0)) {
      throw new HoldfastError('HF_INVALID_ARG', `chunk size must be a positive integer, got ${chunkBytes}`);
    }
    if (wholeFile || chunkBytes === undefined) this.whole = createHash('sha256');
  }

  update(bytes: Uint8Array): void {
    const c = this.chunkBytes;
    if (c === undefined) {
      this.whole!.update(bytes);
      return;
    }
    // Without the whole-file hash there is nothing to keep in cache between two hashes: no slicing.
    const sliceBytes = this.whole === undefined ? c : SLICE_BYTES;
    for (let at = 0; at < bytes.byteLength; ) {
      const n = Math.min(bytes.byteLength - at, c - this.inChunk, sliceBytes);
      const slice = bytes.subarray(at, at + n);
      this.whole?.update(slice);
      (this.chunk ??= createHash('sha256')).update(slice);
      this.inChunk += n;
      at += n;
      if (this.inChunk === c) this.endChunk();
    }
  }

  /** The digest of chunk `index` once complete (the last, partial one at `digest`); an S3 part's checksum. */
  completedChunk(index: number): string {
    const hex = this.digests[index];
    if (hex === undefined) throw new HoldfastError('HF_INVALID_ARG', `chunk ${index} is not complete (${this.digests.length} are)`);
    return hex;
  }

  /** Ends the hashes; the object is spent afterwards. */
  digest(): FileDigest {
    if (this.chunkBytes === undefined) return plain(this.whole!.digest('hex'));
    if (this.inChunk > 0) this.endChunk();
    const chunks = { bytes: this.chunkBytes, sha256: [...this.digests] };
    if (this.whole !== undefined) return { ...plain(this.whole.digest('hex')), chunks };
    const hash = chunkListHash(chunks.sha256);
    return { sha256Hex: hash.slice(hash.indexOf(':') + 1), hash, chunks };
  }

  private endChunk(): void {
    this.digests.push(this.chunk!.digest('hex'));
    this.chunk = undefined;
    this.inChunk = 0;
  }
}
