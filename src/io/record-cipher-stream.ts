/**
 * Encryption at rest as a stream over a file's stored bytes, so records are
 * sealed or opened in the same pass, on the same worker, as the file's hash
 * (format/chunk-cipher.ts gives the record layout: each record's ciphertext
 * followed by its 16-byte tag). Contract: bytes are given in stored order, in
 * pieces of any size; a piece is transformed in place.
 *
 * - `seal`: the piece holds plaintext at its stored positions, with the tag
 *   positions left as gaps (`plainPiecesOf` says where); on return it holds
 *   the stored bytes: ciphertext, and each tag once its record has ended (a
 *   tag always follows its record's last byte, so it is known by then).
 * - `open`: the piece holds stored bytes; on return its first `n` bytes are the
 *   plaintext they carried (tags dropped), `n` returned. Plaintext is handed
 *   out before its record's tag is checked, as a read hands out bytes before
 *   the file's hash is known: `finish` names the first record that did not
 *   authenticate, and the caller fails the read.
 *
 * Why one stream rather than the cipher pool: the bytes are in the hashing
 * worker's cache already, and records no longer wait for a whole file.
 */
import { createCipheriv, createDecipheriv, type CipherGCM, type DecipherGCM } from 'node:crypto';
import { HoldfastError } from '../errors.js';
import { recordCount, recordPlace, TAG_BYTES } from '../format/chunk-cipher.js';

export interface RecordCipherSpec {
  op: 'seal' | 'open';
  /** The 32-byte AES key. */
  key: Uint8Array;
  /** The file's path in the checkpoint (associated data). */
  path: string;
  noncePrefix: string;
  plainSize: number;
  /** Plaintext bytes per record. */
  chunkBytes: number;
}

export interface RecordCipherEnd {
  /** Every record was seen whole. */
  complete: boolean;
  /** The first record whose tag did not authenticate (`open`). */
  badRecord?: number;
}

export class RecordCipherStream {
  private readonly records: number;
  private record = 0;
  /** Ciphertext bytes of the current record done so far. */
  private inRecord = 0;
  /** Tag bytes of the current record done so far (after its ciphertext). */
  private inTag = 0;
  private cipher: CipherGCM | DecipherGCM | undefined;
  private readonly tag = new Uint8Array(TAG_BYTES);
  private badRecord: number | undefined;

  constructor(private readonly spec: RecordCipherSpec) {
    this.records = recordCount(spec.plainSize, spec.chunkBytes);
  }

  /**
   * Transforms `bytes` [begin, end) in place; returns how many bytes are output (all for `seal`, the
   * plaintext for `open`, written from `outAt`, which is at most `begin`).
   */
  transform(bytes: Uint8Array, begin = 0, end = bytes.byteLength, outAt = begin): number {
    let at = begin;
    let out = outAt;
    while (at < end) {
      if (this.record >= this.records) throw new HoldfastError('HF_INVALID_ARG', `${this.spec.path}: more stored bytes than its ${this.records} records hold`);
      const bodyBytes = this.bodyBytes(this.record);
      if (this.inRecord < bodyBytes) {
        const n = Math.min(bodyBytes - this.inRecord, end - at);
        const done = this.current().update(bytes.subarray(at, at + n));
        if (done.byteLength !== n) throw new HoldfastError('HF_IO', `AES-GCM returned ${done.byteLength} bytes for ${n}`);
        bytes.set(done, this.spec.op === 'seal' ? at : out);
        out += n;
        at += n;
        this.inRecord += n;
        if (this.inRecord === bodyBytes && this.spec.op === 'seal') this.endSeal();
        continue;
      }
      const n = Math.min(TAG_BYTES - this.inTag, end - at);
      if (this.spec.op === 'seal') {
        bytes.set(this.tag.subarray(this.inTag, this.inTag + n), at);
        out += n;
      } else {
        this.tag.set(bytes.subarray(at, at + n), this.inTag);
      }
      at += n;
      this.inTag += n;
      if (this.inTag === TAG_BYTES) this.nextRecord();
    }
    return out - outAt;
  }

  finish(): RecordCipherEnd {
    const end: RecordCipherEnd = { complete: this.record === this.records && this.inRecord === 0 };
    if (this.badRecord !== undefined) end.badRecord = this.badRecord;
    return end;
  }

  private bodyBytes(index: number): number {
    return Math.min(this.spec.chunkBytes, this.spec.plainSize - index * this.spec.chunkBytes);
  }

  private current(): CipherGCM | DecipherGCM {
    if (this.cipher !== undefined) return this.cipher;
    const { nonce, aad } = recordPlace(this.spec.path, this.spec.noncePrefix, this.record, this.records);
    const cipher = this.spec.op === 'seal' ? createCipheriv('aes-256-gcm', this.spec.key, nonce) : createDecipheriv('aes-256-gcm', this.spec.key, nonce);
    cipher.setAAD(aad);
    return (this.cipher = cipher);
  }

  private endSeal(): void {
    const cipher = this.current() as CipherGCM;
    cipher.final();
    this.tag.set(cipher.getAuthTag());
  }

  private nextRecord(): void {
    if (this.spec.op === 'open') {
      const decipher = this.current() as DecipherGCM;
      decipher.setAuthTag(this.tag);
      try {
        decipher.final();
      } catch {
        this.badRecord ??= this.record;
      }
    }
    this.cipher = undefined;
    this.record++;
    this.inRecord = 0;
    this.inTag = 0;
  }
}

/** Where plaintext goes in the stored range [begin, end): pieces of plaintext [plain, plain + bytes) at offset `at` from `begin`. */
export function plainPiecesOf(plainSize: number, chunkBytes: number, begin: number, end: number): { at: number; plain: number; bytes: number }[] {
  const pieces: { at: number; plain: number; bytes: number }[] = [];
  const recordStride = chunkBytes + TAG_BYTES;
  for (let index = Math.floor(begin / recordStride); index * recordStride < end; index++) {
    const bodyStart = index * recordStride;
    const bodyEnd = bodyStart + Math.min(chunkBytes, plainSize - index * chunkBytes);
    const from = Math.max(begin, bodyStart);
    const to = Math.min(end, bodyEnd);
    if (to > from) pieces.push({ at: from - begin, plain: index * chunkBytes + (from - bodyStart), bytes: to - from });
  }
  return pieces;
}

/** The plaintext offset of the first plaintext byte at or after stored offset `stored`. */
export function plainOffsetAt(plainSize: number, chunkBytes: number, stored: number): number {
  const recordStride = chunkBytes + TAG_BYTES;
  const index = Math.floor(stored / recordStride);
  return Math.min(plainSize, index * chunkBytes + Math.min(stored - index * recordStride, chunkBytes));
}
