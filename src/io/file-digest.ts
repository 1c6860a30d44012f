/**
 * The digests a writer records for a file (manifest 2.0, DESIGN §7): SHA-256
 * of the whole file (`hash`, what SHA256SUMS lists) and of each fixed-size
 * chunk [i·C, min((i+1)·C, size)) (`chunks`, what a ranged read verifies),
 * both in one pass over bytes that arrive in pieces of any size: chunk
 * boundaries are file offsets, never the edges of the pieces. An empty file
 * has no chunks; a file of exactly k·C bytes has k.
 *
 * The two hashes are fed slice by slice (256 KiB, within the L2 cache of the
 * dev VM's EPYC), so each slice is read from memory once for both.
 * Measured cost of the second hash: docs/PERFORMANCE.md ("Chunk digests").
 */
import { createHash, type Hash } from 'node:crypto';
import { HoldfastError } from '../errors.js';
import type { ChunkDigests } from '../format/manifest-types.js';

export interface FileDigest {
  /** SHA-256 of every byte, lowercase hex. */
  sha256Hex: string;
  /** Present when chunk digests were asked for. */
  chunks?: ChunkDigests;
}

const SLICE_BYTES = 256 * 1024;

export class ChunkedSha256 {
  private readonly whole: Hash = createHash('sha256');
  private chunk: Hash | undefined;
  /** Bytes of the current chunk hashed so far. */
  private inChunk = 0;
  private readonly digests: string[] = [];

  /** `chunkBytes` undefined: the whole-file hash only (1.0 checkpoints, the manifest, small files). */
  constructor(readonly chunkBytes?: number) {
    if (chunkBytes !== undefined && !(Number.isSafeInteger(chunkBytes) && chunkBytes > 0)) {
      throw new HoldfastError('HF_INVALID_ARG', `chunk size must be a positive integer, got ${chunkBytes}`);
    }
  }

  update(bytes: Uint8Array): void {
    const c = this.chunkBytes;
    if (c === undefined) {
      this.whole.update(bytes);
      return;
    }
    for (let at = 0; at < bytes.byteLength; ) {
      const n = Math.min(bytes.byteLength - at, c - this.inChunk, SLICE_BYTES);
      const slice = bytes.subarray(at, at + n);
      this.whole.update(slice);
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

  /** Ends both hashes; the object is spent afterwards. */
  digest(): FileDigest {
    if (this.chunkBytes === undefined) return { sha256Hex: this.whole.digest('hex') };
    if (this.inChunk > 0) this.endChunk();
    return { sha256Hex: this.whole.digest('hex'), chunks: { bytes: this.chunkBytes, sha256: [...this.digests] } };
  }

  private endChunk(): void {
    this.digests.push(this.chunk!.digest('hex'));
    this.chunk = undefined;
    this.inChunk = 0;
  }
}
