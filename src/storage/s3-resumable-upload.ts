/**
 * One data object copied to S3 so that a kill part-way loses at most the
 * parts in flight. The object's key is the same in every attempt (the
 * checkpoint's nonce is part of it), so a later run finds the earlier run's
 * multipart upload (ListMultipartUploads on the key), lists its parts
 * (ListParts) and sends only the parts whose ETag, the MD5 the server
 * computed of the bytes it received, differs from the MD5 of the same part
 * read afresh from the source. Every part is read and handed to the caller
 * (which hashes it against the manifest) whether it is sent or not, and the
 * upload is completed only after `beforeComplete` accepted the whole file:
 * bytes that do not match the source's manifest are never made visible.
 *
 * Arrival is checked from the server's own digests: the completed object's
 * size and ETag (MD5 of the parts' MD5s, `-<parts>`; a single PUT's ETag is
 * its MD5) must equal those computed here from the verified source bytes.
 * An object already complete and equal (a run killed after completing it) is
 * not sent again.
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { HoldfastError } from '../errors.js';
import { isNotFound, s3Error } from './s3-errors.js';

export interface PartSource {
  sizeBytes: number;
  /** Bytes per part (S3: at least 5 MiB except the last); the same in every run, so parts line up. */
  partBytes: number;
  /**
   * Part `index` (0-based), read afresh, in order. Reading part 0 starts a pass over the file: a
   * complete object found at the key but different from the source means a second pass.
   */
  read(index: number): Promise<Uint8Array>;
}

export interface ResumableTarget {
  s3: S3Client;
  bucket: string;
  key: string;
  /** Parts in flight at once. */
  concurrency: number;
}

export interface ResumableHooks {
  /** Every part read has been handed over: throw to refuse the object (it is then never completed). */
  beforeComplete(): Promise<void>;
  /** `bytes` of the file are settled (sent, or found already there when `sent` is false). */
  onPart?(bytes: number, sent: boolean): void;
}

export interface ResumableResult {
  /** Bytes sent in this run (parts and PUTs), not counting what an earlier run left. */
  sentBytes: number;
}

interface KnownPart {
  etag: string;
  size: number;
}

export async function uploadResumable(target: ResumableTarget, source: PartSource, hooks: ResumableHooks): Promise<ResumableResult> {
  const parts = Math.max(1, Math.ceil(source.sizeBytes / source.partBytes));
  const there = await headObject(target);
  return parts === 1 ? putSingle(target, source, hooks, there) : putMultipart(target, source, hooks, parts, there);
}

async function putSingle(target: ResumableTarget, source: PartSource, hooks: ResumableHooks, there: KnownPart | undefined): Promise<ResumableResult> {
  const bytes = await source.read(0);
  const md5 = createHash('md5').update(bytes).digest();
  await hooks.beforeComplete();
  if (there !== undefined && there.size === bytes.byteLength && there.etag === md5.toString('hex')) {
    hooks.onPart?.(bytes.byteLength, false);
    return { sentBytes: 0 };
  }
  const { s3, bucket, key } = target;
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentMD5: md5.toString('base64') }));
  } catch (e) {
    throw s3Error('PutObject', urlOf(target), e);
  }
  hooks.onPart?.(bytes.byteLength, true);
  await assertArrived(target, bytes.byteLength, md5.toString('hex'));
  return { sentBytes: bytes.byteLength };
}

async function putMultipart(target: ResumableTarget, source: PartSource, hooks: ResumableHooks, count: number, there: KnownPart | undefined): Promise<ResumableResult> {
  // A complete object at the key is checked against the source once every part is read: no upload then.
  const uploads = await listUploads(target);
  const uploadId = there === undefined ? uploads[0] ?? (await createUpload(target)) : undefined;
  const known = uploadId === undefined ? new Map<number, KnownPart>() : await listParts(target, uploadId);
  const { md5s, sentBytes } = await sendMissingParts(target, source, hooks, count, uploadId, known);
  const etag = `${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${count}`;
  try {
    await hooks.beforeComplete();
  } catch (e) {
    // The source does not match its manifest: the parts sent are not the checkpoint's bytes.
    if (uploadId !== undefined) await abortUpload(target, uploadId);
    throw e;
  }
  if (uploadId === undefined && there?.size === source.sizeBytes && there.etag === etag) return { sentBytes };
  // A complete object that differs from the verified source: uploaded afresh.
  if (uploadId === undefined) return putMultipart(target, source, hooks, count, undefined);
  await completeUpload(target, uploadId, md5s);
  await assertArrived(target, source.sizeBytes, etag);
  // Uploads of the same key left by runs that died before this one: nothing will resume them now.
  for (const stale of uploads) if (stale !== uploadId) await abortUpload(target, stale);
  return { sentBytes };
}

/**
 * Reads every part in order and sends those `known` lacks (all, or none without an upload), at
 * most `concurrency` at once. A part that cannot be sent leaves the upload for the next run; a
 * source that cannot be read, or does not match its digests, aborts it.
 */
async function sendMissingParts(target: ResumableTarget, source: PartSource, hooks: ResumableHooks, count: number, uploadId: string | undefined, known: Map<number, KnownPart>): Promise<{ md5s: Buffer[]; sentBytes: number }> {
  const md5s: Buffer[] = [];
  let sentBytes = 0;
  const inFlight = new Set<Promise<void>>();
  let failed: unknown;
  try {
    for (let i = 0; i < count && failed === undefined; i++) {
      const bytes = await source.read(i);
      const md5 = createHash('md5').update(bytes).digest();
      md5s.push(md5);
      const have = known.get(i + 1);
      if (uploadId === undefined || (have !== undefined && have.size === bytes.byteLength && have.etag === md5.toString('hex'))) {
        hooks.onPart?.(bytes.byteLength, false);
        continue;
      }
      const p = sendPart(target, uploadId, i + 1, bytes, md5).then(
        () => {
          sentBytes += bytes.byteLength;
          hooks.onPart?.(bytes.byteLength, true);
        },
        (e: unknown) => {
          failed ??= e;
        },
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      while (inFlight.size >= target.concurrency) await Promise.race(inFlight);
    }
  } catch (e) {
    // Nothing after the bad part was sent; the parts in flight settle before the abort.
    await Promise.allSettled(inFlight);
    if (uploadId !== undefined) await abortUpload(target, uploadId);
    throw e;
  }
  await Promise.all(inFlight);
  if (failed !== undefined) throw failed;
  return { md5s, sentBytes };
}

function urlOf(target: ResumableTarget): string {
  return `s3://${target.bucket}/${target.key}`;
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"(.*)"$/, '$1');
}

async function headObject(target: ResumableTarget): Promise<KnownPart | undefined> {
  try {
    const r = await target.s3.send(new HeadObjectCommand({ Bucket: target.bucket, Key: target.key }));
    return { etag: unquote(r.ETag), size: r.ContentLength ?? -1 };
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw s3Error('HeadObject', urlOf(target), e);
  }
}

/** The multipart uploads of exactly this key, newest first. */
async function listUploads(target: ResumableTarget): Promise<string[]> {
  const found: { id: string; at: number }[] = [];
  let keyMarker: string | undefined;
  let idMarker: string | undefined;
  do {
    let r;
    try {
      r = await target.s3.send(new ListMultipartUploadsCommand({ Bucket: target.bucket, Prefix: target.key, KeyMarker: keyMarker, UploadIdMarker: idMarker }));
    } catch (e) {
      throw s3Error('ListMultipartUploads', urlOf(target), e);
    }
    for (const u of r.Uploads ?? []) if (u.Key === target.key && u.UploadId !== undefined) found.push({ id: u.UploadId, at: u.Initiated?.getTime() ?? 0 });
    const more = r.IsTruncated === true;
    keyMarker = more ? r.NextKeyMarker : undefined;
    idMarker = more ? r.NextUploadIdMarker : undefined;
  } while (keyMarker !== undefined);
  return found.sort((a, b) => b.at - a.at).map((u) => u.id);
}

async function listParts(target: ResumableTarget, uploadId: string): Promise<Map<number, KnownPart>> {
  const parts = new Map<number, KnownPart>();
  let marker: string | undefined;
  do {
    let r;
    try {
      r = await target.s3.send(new ListPartsCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId, PartNumberMarker: marker }));
    } catch (e) {
      throw s3Error('ListParts', urlOf(target), e);
    }
    for (const p of r.Parts ?? []) if (p.PartNumber !== undefined) parts.set(p.PartNumber, { etag: unquote(p.ETag), size: p.Size ?? -1 });
    marker = r.IsTruncated === true ? r.NextPartNumberMarker : undefined;
  } while (marker !== undefined);
  return parts;
}

async function createUpload(target: ResumableTarget): Promise<string> {
  try {
    const r = await target.s3.send(new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: target.key }));
    if (r.UploadId === undefined) throw new Error('no UploadId in the response');
    return r.UploadId;
  } catch (e) {
    throw s3Error('CreateMultipartUpload', urlOf(target), e);
  }
}

async function sendPart(target: ResumableTarget, uploadId: string, partNumber: number, bytes: Uint8Array, md5: Buffer): Promise<void> {
  try {
    await target.s3.send(new UploadPartCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId, PartNumber: partNumber, Body: bytes, ContentMD5: md5.toString('base64') }));
  } catch (e) {
    throw s3Error(`UploadPart ${partNumber} of`, urlOf(target), e);
  }
}

async function completeUpload(target: ResumableTarget, uploadId: string, md5s: Buffer[]): Promise<void> {
  const Parts = md5s.map((m, i) => ({ PartNumber: i + 1, ETag: `"${m.toString('hex')}"` }));
  try {
    await target.s3.send(new CompleteMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId, MultipartUpload: { Parts } }));
  } catch (e) {
    throw s3Error('CompleteMultipartUpload', urlOf(target), e);
  }
}

async function abortUpload(target: ResumableTarget, uploadId: string): Promise<void> {
  // Best effort: an upload left incomplete holds space until gc aborts it.
  await target.s3.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId })).catch(() => undefined);
}

/** The server's size and ETag of what it stored must be those of the bytes we verified and sent. */
async function assertArrived(target: ResumableTarget, sizeBytes: number, etag: string): Promise<void> {
  const got = await headObject(target);
  if (got === undefined || got.size !== sizeBytes || got.etag !== etag) {
    const found = got === undefined ? 'no object' : `${got.size} bytes with ETag ${got.etag}`;
    throw new HoldfastError('HF_CORRUPT', `${urlOf(target)}: after the upload the server holds ${found}, expected ${sizeBytes} bytes with ETag ${etag}`, { path: urlOf(target), data: { expected: etag, actual: got?.etag } });
  }
}
