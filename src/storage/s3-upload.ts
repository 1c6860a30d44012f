/**
 * One data object streamed to S3: bytes gathered into fixed-size parts; a
 * file smaller than one part is a single PUT at close, a larger one a
 * multipart upload with at most `concurrency` parts in flight (so at most
 * `concurrency + 1` part buffers in memory). Every PUT and part carries
 * Content-MD5, the integrity header this server enforces: measured on Ceph
 * RGW 16 (test/storage/s3-upload.test.ts), a wrong Content-MD5 on PutObject
 * or UploadPart is answered 400 BadDigest and nothing is stored, while a
 * wrong `x-amz-checksum-sha256` is accepted on both, even in an upload
 * created with `ChecksumAlgorithm: SHA256`; so that header is not sent (a
 * second full pass over every byte, for nothing here; AWS S3 enforces
 * Content-MD5 as well). The server also checks the body against the SHA-256
 * that SigV4 signs (`x-amz-content-sha256`, computed by the SDK for every
 * buffered body; 400 XAmzContentSHA256Mismatch), but a client may sign
 * `UNSIGNED-PAYLOAD` instead (the SDK does for streams), and then
 * Content-MD5 is the only check. A byte damaged on the wire is thus refused
 * at upload, and the intact bytes still held here are sent again (a few
 * times, then the error stands). Never used for a manifest: a commit must
 * be a single-part conditional PUT, and servers ignore `If-None-Match` on
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
import type { ObjectUpload } from './object-client.js';
import { isDamagedInTransit, s3Error } from './s3-errors.js';

export interface S3UploadOptions {
  /** Bytes per part (S3's minimum is 5 MiB, except the last). */
  partBytes: number;
  /** Parts in flight at once. */
  concurrency: number;
}

export function contentMd5(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('base64');
}

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

export function s3Upload(client: S3Client, bucket: string, key: string, url: string, options: S3UploadOptions): ObjectUpload {
  let part = Buffer.allocUnsafe(options.partBytes);
  let filled = 0;
  let uploadId: string | undefined;
  let nextPart = 1;
  const done: { PartNumber: number; ETag: string }[] = [];
  const inFlight = new Set<Promise<void>>();
  let failed: unknown;

  const begin = async (): Promise<string> => {
    try {
      const r = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
      if (r.UploadId === undefined) throw new Error('no UploadId in the response');
      return r.UploadId;
    } catch (e) {
      throw s3Error('CreateMultipartUpload', url, e);
    }
  };
  const sendPart = async (bytes: Buffer): Promise<void> => {
    uploadId ??= await begin();
    const partNumber = nextPart++;
    const p = (async () => {
      try {
        const md5 = contentMd5(bytes);
        const r = await resendIfDamaged(() => client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: bytes, ContentMD5: md5 })));
        done.push({ PartNumber: partNumber, ETag: r.ETag ?? '' });
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
    part = Buffer.allocUnsafe(options.partBytes);
    filled = 0;
    await sendPart(full);
  };

  return {
    write: async (chunk) => {
      let at = 0;
      while (at < chunk.byteLength) {
        const n = Math.min(chunk.byteLength - at, options.partBytes - filled);
        part.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === options.partBytes) await flush();
      }
    },
    close: async () => {
      if (uploadId === undefined) {
        const body = part.subarray(0, filled);
        try {
          const md5 = contentMd5(body);
          await resendIfDamaged(() => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentMD5: md5 })));
        } catch (e) {
          throw s3Error('PutObject', url, e);
        }
        return;
      }
      if (filled > 0) await flush();
      await Promise.all(inFlight);
      if (failed !== undefined) throw failed;
      const parts = [...done].sort((a, b) => a.PartNumber - b.PartNumber);
      try {
        await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
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
