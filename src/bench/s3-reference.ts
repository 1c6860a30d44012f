/**
 * The reference for Holdfast on S3: the SDK's own plain transfers of the same
 * byte count, shaped as Holdfast shapes them (commit-checkpoint.ts,
 * s3-storage.ts, verify-checkpoint.ts, object-chunked-read.ts): objects of
 * the checkpoint's sizes, 2 objects at once, each a multipart upload of
 * 8 MiB parts with 4 in flight (CreateMultipartUpload / UploadPart /
 * CompleteMultipartUpload), or read back as ranged GETs of 8 MiB, 4 in flight,
 * each body drained into place in a buffer of the object's size. No hashing,
 * no Content-MD5, no verification: what the wire and the server allow. With
 * `digests`, the one integrity cost of each direction added back, on the main
 * thread, to show its price: Content-MD5 of every part (which Holdfast sends
 * and the server checks), or SHA-256 of every GET's bytes (what Holdfast's
 * chunk verification hashes, there on worker threads).
 */
import { createHash } from 'node:crypto';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { mapConcurrent } from '../io/map-concurrent.js';
import type { ObjectRef } from './s3-scratch.js';

export const PART_BYTES = 8 * 1024 * 1024;
/** Holdfast's shards written (and files read) at once. */
export const OBJECTS_AT_ONCE = 2;
/** Holdfast's parts (and ranged GETs) in flight per object. */
export const PARTS_IN_FLIGHT = 4;

function partsOf(size: number): { index: number; begin: number; end: number }[] {
  const n = Math.max(1, Math.ceil(size / PART_BYTES));
  return Array.from({ length: n }, (_, index) => ({ index, begin: index * PART_BYTES, end: Math.min(size, (index + 1) * PART_BYTES) }));
}

/** Uploads each object as a multipart upload whose part i is `source[i·8 MiB, …)` (source holds at least the largest object). */
export async function sdkMultipartUpload(s3: S3Client, bucket: string, objects: readonly ObjectRef[], source: Uint8Array, digests = false): Promise<void> {
  await mapConcurrent(objects, OBJECTS_AT_ONCE, async (o) => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: o.key }));
    const etags = await mapConcurrent(partsOf(o.size), PARTS_IN_FLIGHT, async (p) => {
      const body = source.subarray(p.begin, p.end);
      const md5 = digests ? { ContentMD5: createHash('md5').update(body).digest('base64') } : {};
      const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: o.key, UploadId, PartNumber: p.index + 1, Body: body, ...md5 }));
      return { PartNumber: p.index + 1, ETag: r.ETag! };
    });
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: o.key, UploadId, MultipartUpload: { Parts: etags } }));
  });
}

/** Reads each object whole as ranged GETs into a new buffer of its size; returns the bytes read. */
export async function sdkRangedGets(s3: S3Client, bucket: string, objects: readonly ObjectRef[], digests = false): Promise<number> {
  const sizes = await mapConcurrent(objects, OBJECTS_AT_ONCE, async (o) => {
    const into = new Uint8Array(o.size);
    const got = await mapConcurrent(partsOf(o.size), PARTS_IN_FLIGHT, async (p) => {
      const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.key, Range: `bytes=${p.begin}-${p.end - 1}` }));
      let at = p.begin;
      for await (const chunk of r.Body as AsyncIterable<Uint8Array>) {
        into.set(chunk, at);
        at += chunk.byteLength;
      }
      if (digests) createHash('sha256').update(into.subarray(p.begin, at)).digest();
      return at - p.begin;
    });
    return got.reduce((a, b) => a + b, 0);
  });
  return sizes.reduce((a, b) => a + b, 0);
}
