/**
 * One pass over a file's bytes, as a hashing worker (or the calling thread)
 * runs it: the file's digests (`ChunkedSha256`) and, for an encrypted file,
 * its records sealed or opened (`RecordCipherStream`). The digests are always
 * of the stored bytes, so a seal runs before the hash and an open after it.
 * `update` returns how many bytes at the start of the piece are output (the
 * piece's length, or the plaintext an open left there).
 */
import { ChunkedSha256, type FileDigest } from './file-digest.js';
import { RecordCipherStream, type RecordCipherEnd, type RecordCipherSpec } from './record-cipher-stream.js';

/** Within the L2 cache of the dev VM's EPYC, as `ChunkedSha256` slices its two hashes. */
const SLICE_BYTES = 256 * 1024;

export interface PassDigest extends FileDigest {
  /** How the records went, for a pass with a cipher. */
  records?: RecordCipherEnd;
}

export class FilePass {
  private readonly hash: ChunkedSha256;
  private readonly cipher: RecordCipherStream | undefined;
  private readonly sealing: boolean;

  constructor(chunkBytes: number | undefined, wholeFile: boolean, cipher?: RecordCipherSpec) {
    this.hash = new ChunkedSha256(chunkBytes, wholeFile);
    this.cipher = cipher === undefined ? undefined : new RecordCipherStream(cipher);
    this.sealing = cipher?.op === 'seal';
  }

  update(bytes: Uint8Array): number {
    if (this.cipher === undefined) {
      this.hash.update(bytes);
      return bytes.byteLength;
    }
    // Slice by slice, so the hash and the cipher read each slice from cache, not memory, twice.
    let out = 0;
    for (let at = 0; at < bytes.byteLength; at += SLICE_BYTES) {
      const end = Math.min(bytes.byteLength, at + SLICE_BYTES);
      if (this.sealing) {
        out += this.cipher.transform(bytes, at, end);
        this.hash.update(bytes.subarray(at, end));
      } else {
        this.hash.update(bytes.subarray(at, end));
        out += this.cipher.transform(bytes, at, end, out);
      }
    }
    return out;
  }

  /** Ends the pass; the object is spent afterwards. */
  digest(): PassDigest {
    const digest: PassDigest = this.hash.digest();
    if (this.cipher !== undefined) digest.records = this.cipher.finish();
    return digest;
  }
}
