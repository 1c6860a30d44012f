/**
 * One data object streamed to S3: bytes gathered into parts of the chunk
 * size (`UploadParts`), so part i holds exactly chunk i of the manifest; a
 * file smaller than one part is a single PUT at close, a larger one a
 * multipart upload with at most `concurrency` parts in flight (so at most
 * `concurrency + 1` part buffers in memory). Every PUT and part carries
 * Content-MD5, the integrity header this server enforces: measured on Ceph
 * RGW 16 (test/storage/s3-upload.test.ts), a wrong Content-MD5 on PutObject
 * or UploadPart is answered 400 BadDigest and nothing is stored, while a
 * wrong `x-amz-checksum-sha256` is accepted. Each part still carries
 * `x-amz-checksum-sha256`: it is the manifest's digest of that chunk,
 * computed once by the writer's hash pass (no extra pass here), so a server
 * that enforces it (AWS S3) checks the very digest a restore will check. The
 * server also checks the body against the SHA-256 that SigV4 signs when the
 * SDK signs the payload. A byte damaged on the wire is thus refused at
 * upload, and the intact bytes still held here are sent again (a few times,
 * then the error stands). Never used for a manifest: a commit must be a
 * single-part conditional PUT, and servers ignore `If-None-Match` on
 * CompleteMultipartUpload.
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { HoldfastError } from '../errors.js';
import type { ObjectUpload, UploadParts } from './object-client.js';
import { isDamagedInTransit, s3Error } from './s3-errors.js';

export interface S3UploadOptions {
  /** Parts in flight at once. */
  concurrency: number;
}

export function contentMd5(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('base64');
}

/** A lowercase hex SHA-256 as S3's `ChecksumSHA256` wants it: base64 of the 32 bytes. */
export function checksumSha256(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/** S3's smallest part but the last: a chunk size below it cannot be a part size. */
const MIN_PART_BYTES = 5 * 2 ** 20;

/** Sends of a body the server refused as damaged on the wire (400 BadDigest, XAmzContentSHA256Mismatch) after the first. */
const DAMAGED_RESENDS = 3;

/** Runs `send` again when the server found the body damaged in transit: nothing was stored, and the bytes here are intact. */
export async function resendIfDamaged<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (e) {
      if (!isDamagedInTransit(e) || attempt >= DAMAGED_RESENDS) throw e;
    }
  }
}

export function s3Upload(client: S3Client, bucket: string, key: string, url: string, options: S3UploadOptions, parts: UploadParts): ObjectUpload {
  const partBytes = parts.partBytes;
  if (partBytes < MIN_PART_BYTES) throw new HoldfastError('HF_INVALID_ARG', `upload of ${url}: parts of ${partBytes} bytes are under S3's ${MIN_PART_BYTES}-byte minimum`);
  let part = Buffer.allocUnsafe(partBytes);
  let filled = 0;
  let uploadId: string | undefined;
  let nextPart = 1;
  const done: { PartNumber: number; ETag: string; ChecksumSHA256: string }[] = [];
  const inFlight = new Set<Promise<void>>();
  let failed: unknown;

  const begin = async (): Promise<string> => {
    try {
      const r = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: 'SHA256' }));
      if (r.UploadId === undefined) throw new Error('no UploadId in the response');
      return r.UploadId;
    } catch (e) {
      throw s3Error('CreateMultipartUpload', url, e);
    }
  };
  const sendPart = async (bytes: Buffer): Promise<void> => {
    uploadId ??= await begin();
    const partNumber = nextPart++;
    const sha256 = checksumSha256(parts.partSha256(partNumber - 1));
    const p = (async () => {
      try {
        const md5 = contentMd5(bytes);
        const r = await resendIfDamaged(() => client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: bytes, ContentMD5: md5, ChecksumSHA256: sha256 })));
        done.push({ PartNumber: partNumber, ETag: r.ETag ?? '', ChecksumSHA256: sha256 });
      } catch (e) {
        failed ??= s3Error(`UploadPart ${partNumber} of`, url, e);
      }
    })();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    while (inFlight.size >= options.concurrency) await Promise.race(inFlight);
    if (failed !== undefined) throw failed;
  };
  const flush = async (): Promise<void> => {
    const full = part.subarray(0, filled);
    part = Buffer.allocUnsafe(partBytes);
    filled = 0;
    await sendPart(full);
  };

  return {
    write: async (chunk) => {
      let at = 0;
      while (at < chunk.byteLength) {
        const n = Math.min(chunk.byteLength - at, partBytes - filled);
        part.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === partBytes) await flush();
      }
    },
    close: async () => {
      if (uploadId === undefined) {
        const body = part.subarray(0, filled);
        // One part at most: the object's SHA-256 is chunk 0's (an empty object has no chunk).
        const sha256 = filled === 0 ? undefined : checksumSha256(parts.partSha256(0));
        try {
          const md5 = contentMd5(body);
          await resendIfDamaged(() => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentMD5: md5, ChecksumSHA256: sha256 })));
        } catch (e) {
          throw s3Error('PutObject', url, e);
        }
        return;
      }
      if (filled > 0) await flush();
      await Promise.all(inFlight);
      if (failed !== undefined) throw failed;
      const sent = [...done].sort((a, b) => a.PartNumber - b.PartNumber);
      try {
        await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: sent } }));
      } catch (e) {
        throw s3Error('CompleteMultipartUpload', url, e);
      }
    },
    abort: async () => {
      await Promise.allSettled(inFlight);
      if (uploadId === undefined) return;
      // Best effort: an upload left incomplete holds space until gc aborts it.
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
    },
  };
}
